"""GAOKAO-Bench, CMB-Exam and LongBench: readers on our own fixtures (official layouts, made-up
questions) and parity with each benchmark's official scoring rule (numbers worked by hand)."""

import json
import math
import re
from pathlib import Path

import pytest

from domaintune.eval import exam_formats as ef
from domaintune.eval import longbench as lb
from domaintune.eval.api import gen_result
from domaintune.eval.generate import read_gen_items
from domaintune.eval.mcq import answer_strings
from domaintune.eval.mcq_data import detect_format, read_exam, read_questions
from domaintune.records import DataError

FIX = Path(__file__).parent / "fixtures" / "exams"
BIO = FIX / "gaokao" / "2010-2022_Biology_MCQs.json"
PHY = FIX / "gaokao" / "2010-2022_Physics_MCQs.json"
READ = FIX / "gaokao" / "2010-2022_English_Reading_Comp.json"
CMB = FIX / "cmb" / "cmb_val.json"
LB = FIX / "longbench"


# ---------------------------------------------------------------- readers


def test_formats_are_detected_by_their_fields():
    assert [detect_format(p) for p in (BIO, PHY, CMB)] == ["gaokao", "gaokao", "cmb"]
    kinds = {p.name: ef.detect_exam_format(p) for p in sorted(LB.iterdir())}
    assert kinds == dict.fromkeys(
        ["hotpotqa.jsonl", "multifieldqa_zh.jsonl", "trec.jsonl"], "longbench"
    )
    with pytest.raises(DataError, match="LongBench rows are open questions"):
        detect_format(LB / "trec.jsonl")


def test_gaokao_options_are_split_out_of_the_question():
    qs = read_questions(BIO)
    assert [q.answer for q in qs] == ["B", "A", "A"]
    # "A．" on its own lines, "A. " on one line with full-width spaces, "A、"
    assert qs[0].question == "1．下列关于细胞膜的叙述，正确的是（\u3000\u3000）"
    assert qs[1].choices == {"A": "光反应", "B": "暗反应", "C": "糖酵解", "D": "三羧酸循环"}
    assert qs[2].choices == {"A": "血红蛋白", "B": "胰岛素", "C": "淀粉酶", "D": "抗体"}
    assert qs[0].subject == "2010-2022_Biology_MCQs" and qs[0].meta["score"] == 6
    phy = read_questions(PHY)
    assert [(q.answer, q.meta["multi"]) for q in phy] == [("AC", True), ("B", True)]
    assert phy[1].choices["B"] == "3×10^8 m/s"
    with pytest.raises(DataError, match="multi_question_choice file .* `eval gen`"):
        read_questions(READ)


def test_cmb_rows_keep_several_answer_letters():
    qs = read_exam([FIX / "cmb"])
    assert [(q.id, q.answer, q.subject) for q in qs] == [
        ("cmb-0", "C", "执业医师"),
        ("cmb-1", "B", "护士执业资格"),
        ("cmb-2", "ACD", "执业医师"),
        ("cmb-3", "AB", "中医学与中药学"),
    ]
    assert list(qs[0].choices) == ["A", "B", "C", "D", "E"]
    assert qs[2].meta["multi"] and not qs[0].meta["multi"]


def test_folders_take_exam_json_files_only(tmp_path):
    (tmp_path / "cmb_val.json").write_text(CMB.read_text("utf-8"), "utf-8")
    (tmp_path / "subject_mapping.json").write_text('{"law": ["Law", "法学", "Humanities"]}')
    assert [q.id for q in read_exam([tmp_path])] == ["cmb-0", "cmb-1", "cmb-2", "cmb-3"]


def test_bad_rows_name_file_row_and_field(tmp_path):
    bad = tmp_path / "x.json"
    bad.write_text(json.dumps([{**json.loads(CMB.read_text())[0], "answer": "F"}]), "utf-8")
    with pytest.raises(
        DataError,
        match=r"x.json:row 1: field \"answer\": answer 'F' must be option letters of ABCDE",
    ):
        ef.read_cmb(bad)
    gk = tmp_path / "2010-2022_History_MCQs.json"
    gk.write_text(json.dumps({"keywords": "2010-2022_History_MCQs", "example": [
        {"question": "没有选项的题目", "answer": ["A"], "score": 6}]}), "utf-8")  # fmt: skip
    with pytest.raises(
        DataError,
        match=r"json:example 0: field \"question\": the options A. B. C. ... could not be found",
    ):
        ef.read_gaokao(gk)


def test_exam_files_are_read_as_the_project_reads_json(tmp_path):
    """A BOM is dropped and a GBK file is named as such (io.iter_rows), not a traceback."""
    bom = tmp_path / "cmb_bom.json"
    bom.write_bytes(b"\xef\xbb\xbf" + CMB.read_bytes())
    assert [q.answer for q in read_questions(bom)] == ["C", "B", "ACD", "AB"]
    gbk = tmp_path / "cmb.jsonl"
    gbk.write_bytes(json.dumps(json.loads(CMB.read_text("utf-8"))[0], ensure_ascii=False)
                    .encode("gb18030"))  # fmt: skip
    with pytest.raises(DataError, match=r"cmb.jsonl:1: not valid UTF-8 .* reads as GBK"):
        read_questions(gbk, "cmb")


def test_multiple_answer_questions_score_every_letter_set():
    single, multi = read_exam([CMB])[0], read_exam([CMB])[3]
    assert answer_strings(single) == ["A", "B", "C", "D", "E"]
    assert answer_strings(multi) == [
        "A", "B", "C", "D", "AB", "AC", "AD", "BC", "BD", "CD",
        "ABC", "ABD", "ACD", "BCD", "ABCD",
    ]  # fmt: skip


def test_mcq_scores_multiple_answer_letter_sets(tiny_model_dir):
    from domaintune.eval.api import mcq

    result = mcq(tiny_model_dir, [PHY], scoring="letter", device="cpu")
    first, second = result["items"]
    assert len(first["letter_logprobs"]) == 15 and "AC" in first["letter_logprobs"]
    total = sum(math.exp(v) for v in first["letter_logprobs"].values())
    assert total == pytest.approx(1.0, abs=1e-9)
    for item in (first, second):
        best = max(item["letter_logprobs"], key=item["letter_logprobs"].get)
        assert item["pred"]["acc_letter"] == best
        assert item["correct"]["acc_letter"] == (best == item["answer"])
    assert result["settings"]["prompt"] == "gaokao" and result["counts"]["questions"] == 2


def test_gaokao_letter_prompt_names_the_subject_in_chinese():
    from domaintune.eval.mcq_data import style_for

    q = read_questions(PHY)[1]
    assert style_for("gaokao").prompt(q) == (
        "以下是中国高考物理的选择题，请选出其中的正确答案。\n\n2．真空中光速的数量级为（\u3000\u3000）\n"
        "A. 3×10^5 m/s\nB. 3×10^8 m/s\nC. 3×10^10 m/s\nD. 3×10^3 m/s\n答案："
    )
    assert ef.gaokao_subject("2010-2022_Math_II_MCQs") == "文科数学"
    assert [style_for(f, "lm-eval").name for f in ("gaokao", "cmb")] == ["lm-eval-ceval"] * 2


# ---------------------------------------------------------------- official rules: GAOKAO, CMB

GAOKAO_OUTPUTS = {
    # single_choice: the last A-D letter of the output is the answer
    "2010-2022_Biology_MCQs-0": "【解析】细胞膜具有选择透过性。<eoe>\n【答案】 B <eoa>",  # B: 6
    "2010-2022_Biology_MCQs-1": "【答案】: A <eoa> 不是 B",  # last letter B: 0
    "2010-2022_Biology_MCQs-2": "我不知道",  # nothing: 0
    # multi_choice: letters after 【答案】 (only found past position 0), else the last 10 chars
    "2010-2022_Physics_MCQs-0": "【解析】略<eoe>\n【答案】A<eoa>",  # A of AC: partial, 3
    "2010-2022_Physics_MCQs-1": "【答案】BD <eoa>",  # at 0, last 10 chars -> BD, wrong: 0
    # multi_question_choice: one 【答案】 per sub-question, 2 points each
    "2010-2022_English_Reading_Comp-0": "（1）【答案】 B <eoa>\n（2）【答案】 C <eoa>",  # 2 of 4
}


def test_gaokao_extraction_and_points():
    assert ef.gaokao_extract("选 A 还是 C", "single_choice", 1) == ["C"]
    assert ef.gaokao_extract("A B C D E F G", "five_out_of_seven", 5) == list("ABCDE")
    assert ef.gaokao_extract("(1) B (2) D", "multi_question_choice", 2) == ["B", "D"]
    assert ef.gaokao_points(["AC"], ["AC"], 6, partial=True) == (6, 6)
    assert ef.gaokao_points(["A"], ["AC"], 6, partial=True) == (6, 3)
    assert ef.gaokao_points(["AB"], ["AC"], 6, partial=True) == (6, 0)
    assert ef.gaokao_points(["B"], ["B", "C"], 2, partial=False) == (4, 0)  # length differs


def _answered(paths, outputs):
    items = [i for p in paths for i in read_gen_items(p)]
    for item in items:
        item.prediction = outputs[item.id]
    return items


def test_gaokao_scoring_rate_through_eval_gen():
    items = _answered([BIO, PHY, READ], GAOKAO_OUTPUTS)
    assert items[0].question.startswith("请你做一道生物选择题\n") and items[0].question.endswith(
        "题目如下：1．下列关于细胞膜的叙述，正确的是（\u3000\u3000）\nA．细胞膜只由脂质构成\n"
        "B．细胞膜具有选择透过性\nC．细胞膜不含任何蛋白质\nD．所有物质都能自由通过细胞膜\n"
    )
    result = gen_result(items, ["em"], model="m", group="domain", use_stemmer=False)
    assert [r["scores"]["official"] for r in result["items"]] == [100, 0, 0, 50, 0, 50]
    sets = {k: v["official"] for k, v in result["by_set"].items()}
    assert sets == {
        "2010-2022_Biology_MCQs": 33.33,  # 6 / 18
        "2010-2022_Physics_MCQs": 25.0,  # 3 / 12
        "2010-2022_English_Reading_Comp": 50.0,  # 2 / 4
    }
    assert result["metrics"]["official"] == 32.35  # 11 / 34
    assert result["counts"]["official_rows"] == 6


CMB_OUTPUTS = {
    "cmb-0": "答案是C。",  # C: right
    "cmb-1": "B和D都可能",  # no 答案: all letters BD, single choice keeps B: right
    "cmb-2": "正确选项为DCA.",  # DCA != ACD: CMB compares strings, wrong
    "cmb-3": "AB",  # right
}


def test_cmb_extraction_and_accuracy_through_eval_gen():
    assert ef.cmb_extract("答案：A，理由见下。另B错", multi=True) == "A"
    assert ef.cmb_extract("我认为是ACE", multi=True) == "ACE"
    items = _answered([CMB], CMB_OUTPUTS)
    assert items[2].question == (
        "以下是中国医师考试中执业医师考试的一道多项选择题，不需要做任何分析和解释，直接输出答案选项。"
        "\n下列属于人体必需微量元素的有\nA. 铁\nB. 钠\nC. 锌\nD. 碘\nE. 钙"
    )
    result = gen_result(items, ["em"], model="m", group="domain", use_stemmer=False)
    assert result["metrics"]["official"] == 75.0
    assert {k: v["official"] for k, v in result["by_set"].items()} == {
        "执业医师": 50.0, "护士执业资格": 100.0, "中医学与中药学": 100.0,
    }  # fmt: skip


# ---------------------------------------------------------------- official rules: LongBench


def test_longbench_metrics_hand_checked():
    assert lb.qa_f1("It was Ada Lovelace.", "Ada Baker") == pytest.approx(1 / 3)
    # jieba: 在 2 ℃ 至 8 ℃ 冷藏 | 2 ℃ 至 8 ℃ 冷藏 保存: 6 shared of 7 and 7
    assert lb.qa_f1_zh("在2℃至8℃冷藏", "2℃至8℃冷藏保存") == pytest.approx(6 / 7)
    # word sets {the cat sat on mat} / {the cat lay on mat}, LCS words {the cat on mat}
    assert lb.rouge_l("the cat sat on the mat", "the cat lay on the mat") == pytest.approx(
        2.0 * (0.8 * 0.8 / (0.8 + 0.8 + 1e-8)), abs=1e-15
    )
    # summary level: the union of the LCS of every sentence pair covers all four words
    assert lb.rouge_l("a b. c d", "a c. b d") == pytest.approx(2.0 * (1 / (2 + 1e-8)), abs=1e-15)
    assert lb.rouge_l("", "a b") == 0.0
    # jieba: 本品 需 冷藏 保存 | 冷藏 保存: P 2/4, R 2/2
    assert lb.rouge_l_zh("本品需冷藏保存", "冷藏保存") == pytest.approx(
        2.0 * (0.5 / (1.5 + 1e-8)), abs=1e-15
    )
    assert lb.retrieval("Paragraph 3, or maybe Paragraph 5", "Paragraph 3") == 0.5
    assert lb.retrieval_zh("答案是段落2", "段落2") == 1.0
    assert lb.count("There are 4 unique paragraphs out of 10", "4") == 0.5
    # the first line without ` # or //; difflib ratio 2*9/20 -> 90
    assert lb.code_sim("```python\n# comment\nx = foo(1)\n", "x = foo(2)") == 0.9
    assert lb.fuzz_ratio("", "") == 100 and lb.fuzz_ratio("", "a") == 0


def _classification_as_longbench_writes_it(prediction, ground_truth, all_classes):
    # LongBench metrics.py classification_score, as read: remove-while-iterating and a
    # `list != 0` test that is always true.
    em_match_list = []
    for class_name in all_classes:
        if class_name in prediction:
            em_match_list.append(class_name)
    for match_term in em_match_list:
        if match_term in ground_truth and match_term != ground_truth:
            em_match_list.remove(match_term)
    if ground_truth in em_match_list:
        return 1.0 / len(em_match_list)
    return 0.0


@pytest.mark.parametrize(
    ("prediction", "answer", "classes", "expected"),
    [
        ("City", "City", ["City", "Country"], 1.0),
        ("Country or City", "Country", ["City", "Distance", "Country"], 0.5),
        # "a" is dropped, which makes the loop skip "ab": 1/2, not 1
        ("abc", "abc", ["a", "ab", "abc"], 0.5),
        ("nothing", "City", ["City"], 0.0),
    ],
)
def test_classification_matches_longbench(prediction, answer, classes, expected):
    ours = lb.classification(prediction, answer, all_classes=classes)
    assert ours == expected == _classification_as_longbench_writes_it(prediction, answer, classes)


def test_longbench_task_scores_through_eval_gen():
    outputs = {
        "hq-made-up-1": "Silver River",  # F1 1
        "hq-made-up-2": "It was Ada Lovelace.",  # F1 1/3
        "mf-made-up-1": "在2℃至8℃冷藏",  # 6/7
        "tr-made-up-1": "City\nDistance",  # first line only: 1
        "tr-made-up-2": "Country or City",  # 1/2
    }
    items = _answered(sorted(LB.iterdir()), outputs)
    rule = "Answer the question based on the given passages. Only give me the answer and do not "
    rule += "output any other words."
    assert items[0].question == (  # LongBench's hotpotqa prompt
        f"{rule}\n\nThe following are given passages.\nPassage 1:\nThe Lantern Fair is held "
        "every autumn in Millbrook.\nPassage 2:\nMillbrook is a small town on the banks of the "
        f"Silver River.\n\n{rule}\n\nQuestion: Which river flows through the town where the "
        "Lantern Fair is held?\nAnswer:"
    )
    assert items[2].question.startswith("阅读以下文字并用中文简短回答：\n\n本品为白色片剂。")
    assert items[3].question.endswith("Type: Individual\n\nWhat city hosts the Lantern Fair?")
    result = gen_result(items, ["f1"], model="m", group="domain", use_stemmer=False)
    sets = {k: v["official"] for k, v in result["by_set"].items()}
    assert sets == {"hotpotqa": 66.67, "multifieldqa_zh": 85.71, "trec": 75.0}
    assert lb.score_task("trec", ["City\nDistance", "Country or City"], [["City"], ["Country"]],
                         ["City", "Distance", "Individual", "Country"]) == 75.0  # fmt: skip
    assert lb.metric_for("hotpotqa_e") == "qa_f1"
    with pytest.raises(ValueError, match="unknown LongBench dataset 'mystery'"):
        lb.metric_for("mystery")


def test_longbench_row_of_unknown_task_names_row_and_field(tmp_path):
    bad = tmp_path / "lb.jsonl"
    row = {"input": "q", "context": "c", "answers": ["a"], "dataset": "mystery"}
    bad.write_text(json.dumps(row))
    with pytest.raises(
        DataError, match=r"lb.jsonl:1: field \"dataset\": unknown LongBench dataset 'mystery'"
    ):
        read_gen_items(bad)


def test_rouge_matches_the_rouge_package():
    rouge = pytest.importorskip("rouge")  # the package LongBench scores with (dev install)
    pairs = [
        ("the cat sat on the mat. it was warm", "the cat lay on the mat. it was cold"),
        ("a b c a b", "b a c b"),
        ("one. two. three", "three two one"),
    ]
    for p, g in pairs:
        want = rouge.Rouge().get_scores([p], [g], avg=True)["rouge-l"]["f"]
        assert lb.rouge_l(p, g) == pytest.approx(want, abs=1e-15)


# ---------------------------------------------------------------- against transcriptions


def _cmb_as_cmb_writes_it(text, question_type):
    # CMB src/utils.py match_choice (answer-only), then extract_ans's cut for single choice.
    option = ["A", "B", "C", "D", "E", "F", "G"]
    res = re.search(r"(答案|正确选项)(?:是|：|为|应该是|应该为)(.*?)(。|\.|$)", text, re.S)
    if res:
        choice = "".join([x for x in res.group(2) if x in option])
    else:
        choice = "".join([i for i in text if i in option])
    if len(choice) > 1 and question_type != "多项选择题":
        choice = choice[0]
    return choice


def _gaokao_points_as_gaokao_writes_it(model_answer, standard_answer, score, physics):
    # GAOKAO-Bench Bench/OBJ_score_evaluation.py: check_length_equal, then the Physics loop or
    # count_score.
    if len(model_answer) != len(standard_answer):
        model_answer = ["Z"] * len(standard_answer)
    t_score, c_score = len(standard_answer) * score, 0.0
    for j in range(len(standard_answer)):
        if model_answer[j] == standard_answer[j]:
            c_score += 6 if physics else score
        elif physics:
            is_error = 0
            for z in model_answer[j]:
                if z not in standard_answer[j]:
                    is_error = 1
                    break
            c_score += 0 if is_error else 3
    return t_score, c_score


def test_rules_match_their_transcriptions_on_random_outputs():
    import random

    rng = random.Random(16)
    pieces = [
        "答案是",
        "答案：",
        "正确选项为",
        "。",
        ".",
        "A",
        "B",
        "C",
        "D",
        "E",
        "G",
        "H",
        " ",
        "和",
    ]
    classes = ["City", "Cit", "Country", "Count", "Distance", "Individual"]
    for _ in range(400):
        text = "".join(rng.choice(pieces) for _ in range(rng.randint(0, 8)))
        for qtype in ("单项选择题", "多项选择题"):
            assert ef.cmb_extract(text, multi=qtype == "多项选择题") == _cmb_as_cmb_writes_it(
                text, qtype
            )
        standard = ["".join(sorted(rng.sample("ABCD", rng.randint(1, 3))))]
        got = ["".join(rng.sample("ABCD", rng.randint(1, 2)))][: rng.randint(0, 1)]
        for physics in (True, False):
            ours = ef.gaokao_points(got, standard, 6, partial=physics)
            assert ours == _gaokao_points_as_gaokao_writes_it(got, standard, 6, physics)
        pred = " ".join(rng.sample(classes, rng.randint(0, 3)))
        answer = rng.choice(classes)
        assert lb.classification(pred, answer, all_classes=classes) == (
            _classification_as_longbench_writes_it(pred, answer, classes)
        )
