"""Preference losses: DPO equal to a hand computation from log-probs and to TRL's DPOTrainer on
the same batch; SimPO and ORPO equal to their papers' formulas on fixed numbers."""

from __future__ import annotations

import math

import pytest
import torch

from domaintune.train.pref import dpo_loss, orpo_loss, pref_loss, sft_term, simpo_loss

# Fixed sequence log-probs of two pairs (policy, reference) and completion lengths.
PC, PR = [-10.0, -22.5], [-12.0, -20.0]
RC, RR = [-11.0, -21.0], [-11.5, -21.5]
LC, LR = [5.0, 9.0], [6.0, 8.0]
T = torch.tensor


def _sig(x):
    return 1 / (1 + math.exp(-x))


def test_dpo_variants_on_fixed_numbers():
    beta = 0.1
    h = [(pc - rc) - (pr - rr) for pc, rc, pr, rr in zip(PC, RC, PR, RR, strict=True)]
    args = (T(PC), T(PR), T(RC), T(RR))
    got = dpo_loss(*args, beta=beta, loss_type="sigmoid")
    assert got.losses.tolist() == pytest.approx([-math.log(_sig(beta * x)) for x in h], abs=1e-6)
    assert got.chosen_rewards.tolist() == pytest.approx([0.1, -0.15], abs=1e-6)
    hinge = dpo_loss(*args, beta=beta, loss_type="hinge").losses.tolist()
    assert hinge == pytest.approx([max(0.0, 1 - beta * x) for x in h], abs=1e-6)
    ipo = dpo_loss(*args, beta=beta, loss_type="ipo", chosen_len=T(LC), rejected_len=T(LR))
    per_token = [
        (pc - rc) / lc - (pr - rr) / lr
        for pc, rc, pr, rr, lc, lr in zip(PC, RC, PR, RR, LC, LR, strict=True)
    ]
    assert ipo.losses.tolist() == pytest.approx(
        [(x - 1 / (2 * beta)) ** 2 for x in per_token], abs=1e-5
    )


def test_simpo_matches_the_paper():
    """Meng et al. 2024, eq. 6: -log s(b/|yw| log p(yw) - b/|yl| log p(yl) - gamma)."""
    beta, gamma = 2.0, 1.0
    got = simpo_loss(T(PC), T(PR), T(LC), T(LR), beta=beta, gamma=gamma).losses.tolist()
    expected = [
        -math.log(_sig(beta * pc / lc - beta * pr / lr - gamma))
        for pc, pr, lc, lr in zip(PC, PR, LC, LR, strict=True)
    ]
    assert got == pytest.approx(expected, abs=1e-6)
    # by hand: both pairs give b/|y| log p = -4 vs -4 and -5 vs -5: -log s(-1) = log(1 + e)
    assert expected == pytest.approx([math.log(1 + math.e)] * 2, abs=1e-9)


def test_orpo_matches_the_paper():
    """Hong et al. 2024, eq. 6-7: odds = P/(1-P), P = exp(mean token log-prob); lambda 0.1."""
    lam = 0.1
    got = orpo_loss(T(PC), T(PR), T(LC), T(LR), beta=lam).losses.tolist()
    expected = []
    for pc, pr, lc, lr in zip(PC, PR, LC, LR, strict=True):
        p_w, p_l = math.exp(pc / lc), math.exp(pr / lr)
        ratio = (p_w / (1 - p_w)) / (p_l / (1 - p_l))
        expected.append(-lam * math.log(_sig(math.log(ratio))))
    assert got == pytest.approx(expected, abs=1e-6)
    assert pref_loss("orpo", T(PC), T(PR), T(LC), T(LR), beta=lam).losses.tolist() == got


def test_sft_term_is_the_mean_token_nll():
    logps = T([[-1.0, -2.0, 0.0], [-3.0, 0.0, 0.0]])
    mask = T([[1, 1, 0], [1, 0, 0]])
    assert float(sft_term(logps, mask)) == pytest.approx(2.0)


# ---------------------------------------------------------------- on a model, against TRL


@pytest.fixture(scope="module")
def trainer_setup(tiny_model_dir, tmp_path_factory):
    from transformers import AutoModelForCausalLM, AutoTokenizer
    from trl.trainer.dpo_trainer import DataCollatorForPreference

    from domaintune.data.pref import PrefRow, render_pref

    tok = AutoTokenizer.from_pretrained(tiny_model_dir)
    ref = AutoModelForCausalLM.from_pretrained(tiny_model_dir)
    policy = AutoModelForCausalLM.from_pretrained(tiny_model_dir)
    g = torch.Generator().manual_seed(0)
    with torch.no_grad():  # the policy moved away from the reference
        for p in policy.parameters():
            p.add_(0.05 * torch.randn(p.shape, generator=g))
    rows = [
        PrefRow("a", [{"role": "user", "content": "the heart pumps"}], "blood .", "oxygen day"),
        PrefRow("b", [{"role": "user", "content": "doctors measure"}], "blood pressure", "veins"),
    ]
    rendered = [render_pref(tok, r, template="chatml") for r in rows]
    examples = [
        {"prompt_ids": r.prompt_ids, "chosen_ids": r.chosen_ids, "rejected_ids": r.rejected_ids}
        for r in rendered
    ]
    batch = DataCollatorForPreference(pad_token_id=tok.pad_token_id)(examples)
    return tok, policy, ref, batch, tmp_path_factory.mktemp("dpo")


def _hand_logps(model, batch):
    """Sum of completion-token log-probs by a plain forward pass, per sequence (Python floats)."""
    with torch.no_grad():
        logits = model(input_ids=batch["input_ids"], attention_mask=batch["attention_mask"]).logits
    logp = torch.log_softmax(logits[:, :-1].double(), -1)
    target = batch["input_ids"][:, 1:]
    per_tok = logp.gather(-1, target.unsqueeze(-1)).squeeze(-1)
    return (per_tok * batch["completion_mask"][:, 1:]).sum(1).tolist()


@pytest.fixture(scope="module")
def trainer(trainer_setup):
    """One PrefDPOTrainer (building one takes seconds); each test sets its loss on it."""
    from datasets import Dataset
    from trl import DPOConfig

    from domaintune.train.pref_trainer import PrefDPOTrainer

    tok, policy, ref, batch, out = trainer_setup
    args = DPOConfig(output_dir=str(out), use_cpu=True, bf16=False, report_to="none", beta=0.1)
    ds = Dataset.from_list([{"prompt_ids": [1], "chosen_ids": [2], "rejected_ids": [3]}])
    return PrefDPOTrainer(
        model=policy, ref_model=ref, args=args, train_dataset=ds, processing_class=tok
    )


def _set_loss(trainer, loss, *, sft_coef=0.0):
    """Ours: pref_loss_type + sft_coef; TRL's: loss_types + loss_weights (RPO: sigmoid + sft)."""
    trainer.pref_loss_type, trainer.sft_coef = loss, sft_coef
    trainer.loss_types = [loss, "sft"] if sft_coef else [loss]
    trainer.loss_weights = [1.0, sft_coef] if sft_coef else [1.0]


def _both(trainer, batch) -> tuple[float, float]:
    from trl import DPOTrainer

    with torch.no_grad():
        ours = float(trainer.compute_loss(trainer.model, dict(batch)))
        theirs = float(DPOTrainer.compute_loss(trainer, trainer.model, dict(batch)))
    return ours, theirs


@pytest.mark.slow
@pytest.mark.parametrize("loss", ["sigmoid", "ipo", "hinge"])
def test_dpo_loss_equals_hand_computation_and_trl(trainer_setup, trainer, loss):
    tok, policy, ref, batch, _ = trainer_setup
    _set_loss(trainer, loss)
    ours, theirs = _both(trainer, batch)
    pc, pr = _hand_logps(policy, batch)[:2], _hand_logps(policy, batch)[2:]
    rc, rr = _hand_logps(ref, batch)[:2], _hand_logps(ref, batch)[2:]
    lens = batch["completion_mask"].sum(1).tolist()
    h = [
        (a - c) / (la if loss == "ipo" else 1) - (b - d) / (lb if loss == "ipo" else 1)
        for a, b, c, d, la, lb in zip(pc, pr, rc, rr, lens[:2], lens[2:], strict=True)
    ]
    per_pair = {
        "sigmoid": lambda x: -math.log(_sig(0.1 * x)),
        "hinge": lambda x: max(0.0, 1 - 0.1 * x),
        "ipo": lambda x: (x - 1 / (2 * 0.1)) ** 2,
    }[loss]
    hand = sum(per_pair(x) for x in h) / len(h)
    assert ours == pytest.approx(hand, abs=1e-5)
    assert ours == pytest.approx(theirs, abs=1e-5)
    assert abs(h[0]) > 1e-3  # the policy and reference differ: not the trivial log 2


@pytest.mark.slow
def test_sft_anchor_equals_trl_rpo(trainer_setup, trainer):
    _, _, _, batch, _ = trainer_setup
    _set_loss(trainer, "sigmoid", sft_coef=0.5)
    ours, theirs = _both(trainer, batch)
    _set_loss(trainer, "sigmoid")
    plain, _ = _both(trainer, batch)
    assert ours == pytest.approx(theirs, abs=1e-5)
    assert ours - plain > 0.5  # the anchor adds 0.5 x a mean NLL of several nats


# ---------------------------------------------------------------- PTX on general text


def test_ptx_rows_per_batch_gives_the_share():
    from domaintune.train.pref_stage import ptx_rows_per_batch

    # 8 pairs of 100 completion tokens, share 0.5: 800 PTX tokens = 5.33 rows of 150 -> 5
    assert ptx_rows_per_batch(0.5, 100, 150, 8) == 5
    assert ptx_rows_per_batch(0.2, 100, 150, 8) == 1  # 200 / 150 = 1.33
    assert ptx_rows_per_batch(0.75, 100, 150, 8) == 16  # 2400 / 150
    assert ptx_rows_per_batch(0.01, 10, 150, 1) == 1  # never none


def test_ptx_batches_walk_the_rows_by_micro_batch_index():
    from domaintune.train.pref_stage import PtxBatches

    rows = [
        {"input_ids": [5, 6, 7], "labels": [-100, 6, 7], "position_ids": [0, 1, 2]},
        {"input_ids": [8, 9], "labels": [-100, 9], "position_ids": [0, 1]},
        {"input_ids": [4], "labels": [-100], "position_ids": [0]},
    ]
    ptx = PtxBatches(rows, per_batch=2, coef=0.5, pad_id=0)
    b = ptx.batch(1)  # rows 2 and 0 (wrapping), padded to 3
    assert b["input_ids"].tolist() == [[4, 0, 0], [5, 6, 7]]
    assert b["labels"].tolist() == [[-100, -100, -100], [-100, 6, 7]]
    assert b["position_ids"].tolist() == [[0, 0, 1], [0, 1, 2]]
    assert ptx.batch(4)["input_ids"].tolist() == ptx.batch(1)["input_ids"].tolist()  # 8 mod 3


@pytest.mark.slow
def test_ptx_term_is_coef_times_the_general_text_nll(trainer_setup, trainer):
    """loss = DPO + coef x NLL of packed general text, each document scored on its own (no
    attention across the documents packed into one row); evaluation adds no PTX term."""
    from domaintune.records import Document
    from domaintune.train.data import build_pt_dataset
    from domaintune.train.pref_stage import PtxBatches

    tok, policy, _, batch, _ = trainer_setup
    texts = ["the heart pumps blood .", "doctors measure blood pressure", "veins carry blood"]
    docs = [Document(id=str(i), text=t) for i, t in enumerate(texts)]
    rows = list(build_pt_dataset(docs, tok, max_len=64)[0])
    assert len(rows) == 1  # all three packed into one row
    nll, n = 0.0, 0
    with torch.no_grad():
        for t in texts:
            ids = torch.tensor([tok(t, add_special_tokens=False)["input_ids"] + [tok.eos_token_id]])
            logp = torch.log_softmax(policy(input_ids=ids).logits[0, :-1].double(), -1)
            nll -= logp.gather(-1, ids[0, 1:, None]).sum().item()
            n += ids.size(1) - 1
    _set_loss(trainer, "sigmoid")
    trainer.model.train()
    try:
        plain, _ = _both(trainer, batch)
        trainer.ptx = PtxBatches(rows, per_batch=1, coef=0.3, pad_id=tok.pad_token_id)
        with torch.no_grad():
            mixed = float(trainer.compute_loss(trainer.model, dict(batch)))
            trainer.model.eval()
            evaluated = float(trainer.compute_loss(trainer.model, dict(batch)))
    finally:
        trainer.ptx = None
        trainer.model.eval()
    assert mixed - plain == pytest.approx(0.3 * nll / n, abs=1e-5)
    assert trainer._metrics["train"]["loss/ptx"][-1] == pytest.approx(nll / n, abs=1e-5)
    assert evaluated == pytest.approx(plain, abs=1e-6)
