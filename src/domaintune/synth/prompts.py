"""The teacher prompts, written down in Chinese and English (docs/synth.md quotes them).

Each kind asks for JSON so replies can be checked field by field; a prompt is picked by the
language of its source text (documents, seed tasks, conversations), so the rows come out in it.
"""

from __future__ import annotations

import json

SYSTEM = {
    "en": "You are a careful expert who writes high-quality training data. Reply with JSON only.",
    "zh": "你是一位严谨的领域专家，负责编写高质量的训练数据。只输出 JSON。",
}

QA = {
    "en": """Read the passage and write {n} question-answer pairs that a user of this domain \
might ask. Each question must be answerable from the passage alone; each answer must be correct, \
complete and written in English. For each pair copy one exact sentence or phrase from the \
passage that supports the answer into "quote" (character for character), and label the \
question's "dimension" as "knowledge" (a fact stated in the passage) or "reasoning" (needs a \
step of inference from it).

Reply with a JSON list: [{{"question": "...", "answer": "...", "quote": "...", \
"dimension": "knowledge"}}]

[Passage]
{passage}""",
    "zh": """阅读下面的材料，写出 {n} 个该领域用户可能会问的问答对。每个问题都必须只凭这段材料就能\
回答；每个回答都要正确、完整，并用中文书写。对每个问答对，从材料中原样摘录一句或一段支持答案的\
原文，放入 "quote"（逐字一致），并把问题的 "dimension" 标为 "knowledge"（材料中直接陈述的事实）\
或 "reasoning"（需要据材料推理一步）。

以 JSON 列表回复：[{{"question": "...", "answer": "...", "quote": "...", \
"dimension": "knowledge"}}]

[材料]
{passage}""",
}

SELF_INSTRUCT = {
    "en": """Here are some example tasks:
{examples}

Come up with {n} new, diverse tasks of the category "{category}". Do not repeat or lightly \
reword the examples; vary the verbs, the length and the style (question, imperative, a task with \
input text). Write each task in English with a high-quality answer.

Reply with a JSON list: [{{"instruction": "...", "output": "..."}}]""",
    "zh": """下面是一些任务示例：
{examples}

请新写 {n} 个类别为「{category}」的任务，要求彼此不同、覆盖面广。不要重复或简单改写示例；\
变换动词、长度和风格（提问、指令、带输入文本的任务）。每个任务用中文书写，并给出高质量的回答。

以 JSON 列表回复：[{{"instruction": "...", "output": "..."}}]""",
}

PARAPHRASE = {
    "en": """Rewrite the user's request below in {n} different ways. Keep the task and every \
detail it needs exactly the same, but change the wording and the style: {styles}. Write in \
English.

Reply with a JSON list of {n} strings.

[Request]
{prompt}""",
    "zh": """把下面的用户请求改写成 {n} 种不同的说法。任务本身和完成任务所需的所有细节\
必须完全不变，但要变换措辞和风格：{styles}。用中文书写。

以 JSON 列表回复，包含 {n} 个字符串。

[请求]
{prompt}""",
}

STYLES = {
    "en": "formal, casual, concise, with added context about who is asking, as a direct question",
    "zh": "正式、口语化、简洁、补充提问者的背景、改成直接提问",
}

# Keyed by the target language: the prompt is written in the language being translated into.
TRANSLATE = {
    "en": """Translate each text in the JSON list below from Chinese into English. Translate \
faithfully and fluently; keep numbers, names, code and formatting; do not answer or add \
anything.

Reply with a JSON list of the translations, in the same order and of the same length.

{texts}""",
    "zh": """把下面 JSON 列表中的每段文字从英文译成中文。译文要忠实、通顺；保留数字、名称、代码和\
格式；不要回答其中的问题，也不要添加任何内容。

以 JSON 列表回复译文，顺序和条数与原列表相同。

{texts}""",
}

ADVERSARIAL = {
    "en": """An evaluation shows a domain model failing on "{weak_spot}". Here are questions \
it got wrong:
{examples}

Write {n} new, harder questions that probe the same weakness from other angles (edge cases, \
misleading premises, multi-step reasoning, precise figures), each with a correct, careful \
answer. Write in English.

Reply with a JSON list: [{{"instruction": "...", "output": "..."}}]""",
    "zh": """评测显示某领域模型在「{weak_spot}」上表现不佳。以下是它答错的问题：
{examples}

请新写 {n} 个更难的问题，从其他角度考察同一弱点（边界情况、带误导性的前提、多步推理、精确数字），\
并为每个问题给出正确、严谨的回答。用中文书写。

以 JSON 列表回复：[{{"instruction": "...", "output": "..."}}]""",
}

MINE = {
    "en": """Below is the text of a FAQ or forum page. List the question-answer pairs it contains, \
copying each question and its answer as written on the page (do not invent, merge or shorten \
them; skip questions without an answer).

Reply with a JSON list: [{{"question": "...", "answer": "..."}}]

[Page]
{page}""",
    "zh": """下面是一个常见问题（FAQ）或论坛页面的文字。列出其中包含的问答对，\
问题和回答都按页面原文照抄（不要编造、合并或删节；没有回答的问题跳过）。

以 JSON 列表回复：[{{"question": "...", "answer": "..."}}]

[页面]
{page}""",
}


def chat(lang: str, user: str) -> list[dict[str, str]]:
    """OpenAI messages: the system prompt in `lang`, then the user prompt."""
    return [{"role": "system", "content": SYSTEM[lang]}, {"role": "user", "content": user}]


def qa_messages(passage: str, lang: str, n: int) -> list[dict[str, str]]:
    """Ask for n grounded question-answer pairs on one passage."""
    return chat(lang, QA[lang].format(n=n, passage=passage))


def self_instruct_messages(
    examples: list[str], category: str, lang: str, n: int
) -> list[dict[str, str]]:
    """Ask for n new tasks of `category`, shown the numbered seed examples."""
    shown = "\n".join(f"{i}. {e}" for i, e in enumerate(examples, 1))
    return chat(lang, SELF_INSTRUCT[lang].format(examples=shown, category=category, n=n))


def paraphrase_messages(prompt: str, lang: str, n: int) -> list[dict[str, str]]:
    """Ask for n rewordings of one user request."""
    return chat(lang, PARAPHRASE[lang].format(n=n, styles=STYLES[lang], prompt=prompt))


def translate_messages(texts: list[str], target: str) -> list[dict[str, str]]:
    """Ask for the translations of a list of texts into `target` ("zh" or "en")."""
    blob = json.dumps(texts, ensure_ascii=False, indent=1)
    return chat(target, TRANSLATE[target].format(texts=blob))


def adversarial_messages(
    weak_spot: str, examples: list[str], lang: str, n: int
) -> list[dict[str, str]]:
    """Ask for n harder prompts aimed at one weak spot, shown failed questions."""
    shown = "\n".join(f"- {e}" for e in examples) or "-"
    return chat(lang, ADVERSARIAL[lang].format(weak_spot=weak_spot, examples=shown, n=n))


def mine_messages(page: str, lang: str) -> list[dict[str, str]]:
    """Ask for the question-answer pairs of a page whose structure gave none."""
    return chat(lang, MINE[lang].format(page=page))
