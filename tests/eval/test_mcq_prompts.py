"""Reading the benchmarks' own file layouts, and the official prompts byte for byte."""

from __future__ import annotations

from pathlib import Path

import pytest

from domaintune.eval import mcq

FIXTURES = Path(__file__).parent / "fixtures" / "mcq"
CEVAL_VAL = FIXTURES / "ceval" / "val" / "clinical_medicine_val.csv"
CEVAL_DEV = FIXTURES / "ceval" / "dev" / "clinical_medicine_dev.csv"
CMMLU_TEST = FIXTURES / "cmmlu" / "test" / "anatomy.csv"
CMMLU_DEV = FIXTURES / "cmmlu" / "dev" / "anatomy.csv"
MMLU_TEST = FIXTURES / "mmlu" / "test" / "anatomy_test.csv"
MMLU_DEV = FIXTURES / "mmlu" / "dev" / "anatomy_dev.csv"


def _prompts(test: Path, dev: Path, style: str, shots: int) -> list[str]:
    questions = mcq.read_questions(test)
    picked = mcq.pick_shots(questions, mcq.read_questions(dev), shots)
    return [mcq.STYLES[style].prompt(q, picked[q.subject]) for q in questions]


def test_ceval_prompts():
    zero = _prompts(CEVAL_VAL, CEVAL_DEV, "ceval", 0)
    assert zero[0] == (
        "以下是中国关于临床医学考试的单项选择题，请选出其中的正确答案。\n\n"
        "下列哪种药物常用于治疗高血压？\nA. 氨氯地平\nB. 阿莫西林\nC. 二甲双胍\nD. 奥美拉唑\n答案："
    )
    two = _prompts(CEVAL_VAL, CEVAL_DEV, "ceval", 2)
    assert two[1] == (
        "以下是中国关于临床医学考试的单项选择题，请选出其中的正确答案。\n\n"
        "下列哪项是高血压的常见并发症？\nA. 脑卒中\nB. 近视\nC. 龋齿\nD. 湿疹\n答案：A\n\n"
        "甲状腺功能亢进症属于哪个系统的疾病？\nA. 运动系统\nB. 内分泌系统\nC. 泌尿系统\nD. 皮肤\n"
        "答案：B\n\n"
        "缺铁性贫血属于哪个系统的疾病？\nA. 呼吸系统\nB. 血液系统\nC. 消化系统\nD. 神经系统\n答案："
    )


def test_cmmlu_prompts():
    zero = _prompts(CMMLU_TEST, CMMLU_DEV, "cmmlu", 0)
    assert zero[0] == (
        "以下是关于解剖学的单项选择题，请直接给出正确答案的选项。\n\n"
        "题目：人体最大的器官是\nA. 肝\nB. 皮肤\nC. 肺\nD. 心\n答案是："
    )
    two = _prompts(CMMLU_TEST, CMMLU_DEV, "cmmlu", 2)
    assert two[1] == (
        "以下是关于解剖学的单项选择题，请直接给出正确答案的选项。\n\n"
        "题目：肺位于\nA. 腹腔\nB. 胸腔\nC. 盆腔\nD. 颅腔\n答案是：B\n\n"
        "题目：股骨属于\nA. 长骨\nB. 短骨\nC. 扁骨\nD. 不规则骨\n答案是：A\n\n"
        "题目：心脏有几个腔？\nA. 两个\nB. 三个\nC. 四个\nD. 五个\n答案是："
    )


def test_mmlu_prompts():
    zero = _prompts(MMLU_TEST, MMLU_DEV, "mmlu", 0)
    assert zero[1] == (
        "The following are multiple choice questions (with answers) about anatomy.\n\n"
        "Which of these bones is in the arm, not the leg?\nA. femur\nB. tibia\nC. humerus\n"
        "D. fibula\nAnswer:"
    )
    two = _prompts(MMLU_TEST, MMLU_DEV, "mmlu", 2)
    assert two[0] == (
        "The following are multiple choice questions (with answers) about anatomy.\n\n"
        "Where is the femur?\nA. arm\nB. thigh\nC. skull\nD. chest\nAnswer: B\n\n"
        "How many chambers does the human heart have?\nA. 2\nB. 3\nC. 4\nD. 5\nAnswer: C\n\n"
        "Which organ pumps blood through the body?\nA. lung\nB. heart\nC. liver\nD. kidney\n"
        "Answer:"
    )


def test_subject_names():
    assert mcq.STYLES["ceval"].subject_name("physician") == "医师资格"
    assert mcq.STYLES["cmmlu"].subject_name("traditional_chinese_medicine") == "中医中药"
    assert mcq.STYLES["mmlu"].subject_name("clinical_knowledge") == "clinical knowledge"
    assert mcq.STYLES["ceval"].subject_name("my_hospital_exam") == "my hospital exam"
    assert len(mcq.STYLES["ceval"].subject_names) == 52  # every C-Eval subject
    assert len(mcq.STYLES["cmmlu"].subject_names) == 67  # every CMMLU subject
    assert mcq.subject_of("law_val.csv") == "law"
    assert mcq.subject_of("data/mmlu/anatomy_test.csv") == "anatomy"
    assert mcq.subject_of("anatomy.csv") == "anatomy"
    assert mcq.subject_of("_dev.csv") == "_dev"


def test_format_detection():
    assert [mcq.detect_format(p) for p in (CEVAL_VAL, CMMLU_TEST, MMLU_TEST)] == [
        "ceval",
        "cmmlu",
        "mmlu",
    ]
    assert mcq.detect_format(FIXTURES / "mixed.jsonl") == "jsonl"


def test_each_layout_reads_every_row():
    ceval = mcq.read_questions(CEVAL_VAL)
    assert [(q.id, q.subject, q.answer) for q in ceval] == [
        ("0", "clinical_medicine", "A"),
        ("1", "clinical_medicine", "B"),
        ("2", "clinical_medicine", "C"),
        ("3", "clinical_medicine", "D"),
    ]
    assert ceval[2].question == "糖尿病患者首选的口服降糖药是（  ）"
    assert ceval[3].choices == {"A": "20～40", "B": "40～50", "C": "120～160", "D": "60～100"}
    assert ceval[1].where == f"{CEVAL_VAL}:row 2"
    cmmlu = mcq.read_questions(CMMLU_TEST)
    assert [(q.id, q.subject, q.answer) for q in cmmlu] == [
        ("0", "anatomy", "B"),
        ("1", "anatomy", "C"),
        ("2", "anatomy", "A"),
    ]
    mmlu = mcq.read_questions(MMLU_TEST)
    assert [(q.id, q.answer) for q in mmlu] == [
        ("anatomy-1", "B"),
        ("anatomy-2", "C"),
        ("anatomy-3", "A"),
    ]
    assert mmlu[1].question == "Which of these bones is in the arm, not the leg?"


def test_jsonl_two_to_ten_options():
    qs = mcq.read_questions(FIXTURES / "mixed.jsonl")
    assert [len(q.choices) for q in qs] == [2, 5, 10, 3]
    assert [q.answer for q in qs] == ["A", "B", "J", "B"]  # an integer answer is an index
    assert [q.id for q in qs] == ["q1", "q2", "mixed-3", "4"]
    assert [q.subject for q in qs] == ["mixed", "arithmetic", "mixed", "mixed"]
    assert [q.dimension for q in qs] == ["knowledge", "reasoning", None, "knowledge"]
    assert mcq.STYLES["mmlu"].prompt(qs[0]) == (
        "The following are multiple choice questions (with answers) about mixed.\n\n"
        "Which drug lowers blood pressure?\nA. amlodipine\nB. amoxicillin\nAnswer:"
    )


def test_folders_expand_and_shots_match_by_subject():
    questions = mcq.read_exam([FIXTURES / "ceval" / "val"])
    dev = mcq.read_exam([FIXTURES / "ceval" / "dev"])
    picked = mcq.pick_shots(questions, dev, 3)
    assert [q.id for q in picked["clinical_medicine"]] == ["0", "1", "2"]  # file order
    with pytest.raises(ValueError, match="'clinical_medicine' has 3 dev questions"):
        mcq.pick_shots(questions, dev, 4)
    with pytest.raises(ValueError, match="'anatomy' has 0 dev questions"):
        mcq.pick_shots(mcq.read_questions(CMMLU_TEST), dev, 1)
