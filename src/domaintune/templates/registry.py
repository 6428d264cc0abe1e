"""The template registry: each model family's chat format as data (see spec.Template).

Each entry names its reference; tests/templates/ checks every one byte-exact against that family's
official Jinja template (or, where the family's format is code, against golden strings derived from
that code).
"""

from __future__ import annotations

from domaintune.templates.spec import Template

_CHATML = dict(
    system="<|im_start|>system\n{content}<|im_end|>\n",
    user="<|im_start|>user\n{content}<|im_end|>\n",
    assistant_prefix="<|im_start|>assistant\n",
    assistant_suffix="<|im_end|>",
    assistant_sep="\n",
    special_tokens=("<|im_start|>", "<|im_end|>"),
    stop_tokens=("<|im_end|>",),
)

TEMPLATES: dict[str, Template] = {
    t.name: t
    for t in [
        Template(
            name="chatml",
            description="ChatML with no default system prompt",
            reference="OpenAI ChatML; the generic ChatML Jinja template",
            **_CHATML,
        ),
        Template(
            name="qwen",
            description="Qwen2.5 Instruct: ChatML with Qwen's default system prompt",
            reference="Qwen/Qwen2.5-7B-Instruct tokenizer_config.json chat_template (no tools)",
            default_system="You are Qwen, created by Alibaba Cloud. You are a helpful assistant.",
            **{**_CHATML, "stop_tokens": ("<|im_end|>", "<|endoftext|>")},
        ),
        Template(
            name="qwen3",
            description="Qwen3: ChatML; <think> reasoning kept only after the last user query",
            reference="Qwen/Qwen3-8B tokenizer_config.json chat_template (no tools)",
            think=True,
            **{
                **_CHATML,
                "special_tokens": ("<|im_start|>", "<|im_end|>", "<think>", "</think>"),
                "stop_tokens": ("<|im_end|>", "<|endoftext|>"),
            },
        ),
        Template(
            name="yi",
            description="Yi chat: ChatML turns, system text raw at the start, no default system",
            reference="01-ai/Yi-1.5-34B-Chat tokenizer_config.json chat_template",
            system="{content}",
            user="<|im_start|>user\n{content}<|im_end|>\n<|im_start|>assistant\n",
            assistant_prefix="",
            assistant_suffix="<|im_end|>",
            assistant_sep="\n",
            generation_prompt="",  # every user turn already ends with the assistant header
            special_tokens=("<|im_start|>", "<|im_end|>"),
            stop_tokens=("<|im_end|>", "<|endoftext|>"),
        ),
        Template(
            name="qwen2",
            description="Qwen2 Instruct: ChatML with 'You are a helpful assistant.'",
            reference="Qwen/Qwen2-7B-Instruct tokenizer_config.json chat_template",
            default_system="You are a helpful assistant.",
            **{**_CHATML, "stop_tokens": ("<|im_end|>", "<|endoftext|>")},
        ),
        Template(
            name="internlm2",
            description="InternLM2 chat: BOS then ChatML",
            reference="internlm/internlm2-chat-7b tokenizer_config.json chat_template",
            prefix="{bos}",
            **{
                **_CHATML,
                "special_tokens": ("{bos}", "<|im_start|>", "<|im_end|>"),
                "stop_tokens": ("<|im_end|>", "{eos}"),
            },
            family_tokens=("<s>", "</s>"),
        ),
        Template(
            name="llama3",
            description="Llama 3 Instruct: header tokens, <|eot_id|>, trimmed content",
            reference="meta-llama/Meta-Llama-3-8B-Instruct tokenizer_config.json chat_template",
            prefix="{bos}",
            system="<|start_header_id|>system<|end_header_id|>\n\n{content}<|eot_id|>",
            user="<|start_header_id|>user<|end_header_id|>\n\n{content}<|eot_id|>",
            assistant_prefix="<|start_header_id|>assistant<|end_header_id|>\n\n",
            assistant_suffix="<|eot_id|>",
            strip=("system", "user", "assistant"),
            special_tokens=("{bos}", "<|start_header_id|>", "<|end_header_id|>", "<|eot_id|>"),
            stop_tokens=("<|eot_id|>", "<|end_of_text|>"),
            family_tokens=("<|begin_of_text|>", "<|eot_id|>"),
        ),
        Template(
            name="llama2",
            description="Llama 2 chat: [INST] with <<SYS>> merged into the first user turn",
            reference="meta-llama/Llama-2-7b-chat-hf tokenizer_config.json chat_template",
            system=None,
            system_merge="<<SYS>>\n{system}\n<</SYS>>\n\n{content}",
            user="{bos}[INST] {content} [/INST]",
            assistant_prefix=" ",
            assistant_suffix=" {eos}",
            generation_prompt="",
            strip=("user", "assistant"),
            special_tokens=("{bos}", "{eos}"),
            stop_tokens=("{eos}",),
            family_tokens=("<s>", "</s>"),
        ),
        Template(
            name="mistral",
            description="Mistral 7B Instruct v0.1/v0.2: [INST], no system prompt",
            reference="mistralai/Mistral-7B-Instruct-v0.2 tokenizer_config.json chat_template",
            prefix="{bos}",
            system=None,
            user="[INST] {content} [/INST]",
            assistant_prefix="",
            assistant_suffix="{eos}",
            special_tokens=("{bos}", "{eos}"),
            stop_tokens=("{eos}",),
            family_tokens=("<s>", "</s>"),
        ),
        Template(
            name="mistral_v03",
            description="Mistral 7B Instruct v0.3: control [INST] tokens, system in the last turn",
            reference="mistralai/Mistral-7B-Instruct-v0.3 tokenizer_config.json chat_template",
            prefix="{bos}",
            system=None,
            system_merge="{system}\n\n{content}",
            merge_into="last",
            user="[INST] {content}[/INST]",
            assistant_prefix=" ",
            assistant_suffix="{eos}",
            generation_prompt="",
            strip=("assistant",),
            special_tokens=("{bos}", "{eos}", "[INST]", "[/INST]"),
            stop_tokens=("{eos}",),
            family_tokens=("<s>", "</s>"),
        ),
        Template(
            name="chatglm3",
            description="ChatGLM3: [gMASK]sop and <|role|> tokens; EOS appended for training",
            reference="THUDM/chatglm3-6b tokenization_chatglm.py build_chat_input",
            prefix="[gMASK]sop",
            system="<|system|>\n {content}",
            user="<|user|>\n {content}",
            assistant_prefix="<|assistant|>\n ",
            assistant_suffix="",
            generation_prompt="<|assistant|>",
            train_eos=True,
            special_tokens=("[gMASK]", "sop", "<|system|>", "<|user|>", "<|assistant|>"),
            stop_tokens=("{eos}", "<|user|>", "<|observation|>"),
            family_tokens=("", "</s>"),
        ),
        Template(
            name="baichuan2",
            description="Baichuan2 chat: <reserved_106> user, <reserved_107> assistant",
            reference="baichuan-inc/Baichuan2-7B-Chat generation_utils.py build_chat_input",
            user="<reserved_106>{content}",
            assistant_prefix="<reserved_107>",
            assistant_suffix="",
            train_eos=True,
            special_tokens=("<reserved_106>", "<reserved_107>"),
            stop_tokens=("{eos}",),
            family_tokens=("<s>", "</s>"),
        ),
        Template(
            name="alpaca",
            description="Stanford Alpaca prompt (instruction / response), EOS after the answer",
            # An alpaca row's `input` is joined to its instruction when read, so the
            # `prompt_input` variant ("### Input:") is not produced.
            reference="tatsu-lab/stanford_alpaca train.py PROMPT_DICT['prompt_no_input']",
            default_system=(
                "Below is an instruction that describes a task. "
                "Write a response that appropriately completes the request."
            ),
            system="{content}\n\n",
            user="### Instruction:\n{content}\n\n",
            assistant_prefix="### Response:",
            assistant_suffix="{eos}",  # the reference is single-turn; later turns follow the EOS
            special_tokens=("{eos}",),
            stop_tokens=("{eos}",),
            family_tokens=("<s>", "</s>"),
        ),
        Template(
            name="vicuna",
            description="Vicuna v1.1 (FastChat vicuna_v1.1)",
            reference="lm-sys/FastChat fastchat/conversation.py 'vicuna_v1.1'",
            default_system=(
                "A chat between a curious user and an artificial intelligence assistant. "
                "The assistant gives helpful, detailed, and polite answers to the user's questions."
            ),
            system="{content} ",
            user="USER: {content} ",
            assistant_prefix="ASSISTANT: ",
            assistant_suffix="{eos}",
            generation_prompt="ASSISTANT:",
            special_tokens=("{eos}",),
            stop_tokens=("{eos}",),
            family_tokens=("<s>", "</s>"),
        ),
        Template(
            name="plain",
            description="Base models: the texts one after another, EOS after each answer",
            reference="domaintune's own (base models have no chat format)",
            system="{content}\n\n",
            user="{content}\n",
            assistant_prefix="",
            assistant_suffix="{eos}",
            assistant_sep="\n",
            special_tokens=("{eos}",),
            stop_tokens=("{eos}",),
            family_tokens=("<s>", "</s>"),
        ),
    ]
}


def get_template(name: str) -> Template:
    """The registry template called `name`; the error lists the valid names."""
    try:
        return TEMPLATES[name]
    except KeyError:
        raise ValueError(
            f"unknown template {name!r}; choose one of {sorted(TEMPLATES)} or 'hf' (the "
            "tokenizer's own chat_template)"
        ) from None
