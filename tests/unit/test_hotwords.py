"""Hot words: what ``words_of`` keeps, the ranking of ``top_k``, the simulated lexicon."""

from __future__ import annotations

import json
import random
import subprocess
import sys
from datetime import date, timedelta
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from domain.reference_view import Lexicon
from events.models import LexiconPublished
from events.models.case import Channel
from projections import hotwords
from projections.hotwords import _HAN_WORD, FUNCTION_WORDS, _rules, _tokenizer, top_k, words_of
from simulate.catalogue import CATEGORIES, DISTRICTS
from simulate.lexicon import LEXICON_2025_1, LEXICON_2026_1, LEXICONS, lexicon_event, lexicon_events
from simulate.texts import report_text
from tests.factories import example_event

REPORT = "小区东门外电动车楼道充电，存在较大安全隐患，居民多次反映"
ROOT = Path(__file__).resolve().parents[2]


def lexicon(
    user_words: tuple[str, ...] = (), stop_words: tuple[str, ...] = (), version: str = "v1"
) -> Lexicon:
    return Lexicon(version, user_words, stop_words, date(2025, 1, 1))


LEX_2025 = Lexicon("lex-2025.1", *LEXICON_2025_1, date(2025, 1, 1))
LEX_2026 = Lexicon("lex-2026.1", *LEXICON_2026_1, date(2026, 1, 1))


# --- words_of --------------------------------------------------------------------------------
def test_a_typical_report_with_the_published_lexicon() -> None:
    # Pins jieba 0.42.1 and its dictionary: an upgrade that changes segmentation fails here.
    assert words_of(REPORT, LEX_2025) == ("东门外", "电动车", "楼道充电", "安全隐患")


def test_user_words_stay_whole_only_when_the_lexicon_has_them() -> None:
    assert "楼道充电" in words_of(REPORT, lexicon(("楼道充电",)))
    for other in (None, lexicon(("消防通道",))):
        words = words_of(REPORT, other)
        assert "楼道充电" not in words
        assert {"楼道", "充电"} <= set(words)


def test_the_lexicons_stop_words_are_removed() -> None:
    assert {"存在", "居民", "反映"} <= set(words_of(REPORT, None))
    words = words_of(REPORT, lexicon(stop_words=("存在", "居民", "反映")))
    assert not {"存在", "居民", "反映"} & set(words)


def test_function_words_are_removed_even_without_a_lexicon() -> None:
    text = "我们已经发现这个楼道经常堆放杂物"
    assert words_of(text, None) == ("发现", "楼道", "堆放", "杂物")
    assert {"我们", "已经", "这个", "经常"} <= FUNCTION_WORDS


def test_a_stop_word_wins_over_a_user_word() -> None:
    assert "电动车" not in words_of(REPORT, lexicon(("电动车",), ("电动车",)))


def test_each_word_once_per_text_in_first_occurrence_order() -> None:
    assert words_of("电动车电动车，电动车楼道充电电动车", lexicon(("楼道充电",))) == (
        "电动车",
        "楼道充电",
    )


@pytest.mark.parametrize("text", ["", "   \n\t", "，。！？……", "2025 10:30 ABC abc123 ２０２５"])
def test_text_without_words_gives_nothing(text: str) -> None:
    assert words_of(text, LEX_2025) == ()


def test_punctuation_digits_latin_and_single_characters_are_dropped() -> None:
    text = "3号楼A座 WiFi 2025年，！！电动车(已)拍照 ok"
    assert words_of(text, None) == ("电动车", "拍照")


def test_no_words_are_guessed_from_characters_the_dictionary_does_not_join() -> None:
    # jieba's HMM would glue 庄市 (and 号楼); hot words come from the dictionary and lexicon.
    assert words_of("庄市街道3号楼", None) == ("街道",)


def test_a_user_word_keeps_its_own_spelling_even_with_latin_letters() -> None:
    text = "5G基站信号差"
    assert words_of(text, lexicon(("5G基站",))) == ("5G基站", "信号")
    assert words_of(text, None) == ("基站", "信号")


def _whole_text(text: str, lex: Lexicon | None) -> tuple[str, ...]:
    """``words_of`` as jieba cuts the whole text at once, nothing remembered."""
    rules = _rules(lex)
    tokens = _tokenizer(rules.user_word_key).cut(text, HMM=False)
    return tuple(
        dict.fromkeys(
            t
            for t in tokens
            if len(t) >= 2
            and (_HAN_WORD.fullmatch(t) or t in rules.user_words)
            and t not in rules.dropped
        )
    )


def _reports(n: int) -> list[str]:
    rng = random.Random(3)
    texts = []
    for i in range(n):
        district = DISTRICTS[i % len(DISTRICTS)]
        category = rng.choice(CATEGORIES).code
        day = date(2025, 1, 1) + timedelta(days=rng.randrange(730))
        title, description = report_text(rng, category, district, day, rng.choice(list(Channel)))
        texts.append(f"{title}。{description}")
    return texts


@pytest.mark.parametrize("lex", [LEX_2025, LEX_2026, None], ids=["2025.1", "2026.1", "none"])
def test_remembered_blocks_give_what_jieba_gives_for_the_whole_text(lex: Lexicon | None) -> None:
    texts = _reports(400)
    texts += [
        REPORT,
        "3号楼A座 WiFi 2025年，！！电动车(已)拍照 ok",
        "5G基站信号差\r\n路灯不亮 路灯不亮",
        "",
    ]
    for text in texts + texts:  # the second time from what was remembered
        assert words_of(text, lex) == _whole_text(text, lex), text


@given(st.text(alphabet="路灯不亮电动车楼道充电5GAb基站 ，。\r\n-_.%#&+", max_size=40))
def test_any_text_gives_what_jieba_gives_for_it_whole(text: str) -> None:
    assert words_of(text, LEX_2025) == _whole_text(text, LEX_2025)


def test_what_is_remembered_is_bounded(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(hotwords, "_MEMO_BLOCKS", 3)
    lex = lexicon(("楼道充电",), version="bounded")
    texts = ["路灯不亮，井盖缺失", "楼道充电；垃圾满溢", "噪声扰民 油烟扰民"]
    for text in texts:
        assert words_of(text, lex) == _whole_text(text, lex)
        assert len(_rules(lex).memo) <= 3


def test_the_same_text_gives_the_same_words_every_time() -> None:
    first = words_of(REPORT, LEX_2025)
    assert all(words_of(REPORT, LEX_2025) == first for _ in range(3))
    assert words_of(REPORT, None) == words_of(REPORT, None)


def test_versions_with_the_same_words_segment_the_same_whatever_their_order() -> None:
    user, stop = LEXICON_2025_1
    shuffled = list(user)
    random.Random(7).shuffle(shuffled)
    twin = Lexicon("lex-2025.1-copy", (*shuffled, *user[:5]), stop, date(2025, 6, 1))
    texts = [REPORT, "出租房私拉电线飞线充电，消防通道堵塞", "独居老人无人照料，邻居装修噪音扰民"]
    assert [words_of(t, twin) for t in texts] == [words_of(t, LEX_2025) for t in texts]


def test_a_user_words_weight_does_not_depend_on_the_other_user_words() -> None:
    # So adding words in a later version cannot shift how the earlier ones segment.
    old, new = (_tokenizer(_rules(lex).user_word_key).FREQ for lex in (LEX_2025, LEX_2026))
    assert [old[w] for w in LEX_2025.user_words] == [new[w] for w in LEX_2025.user_words]


def test_versions_with_different_user_words_do_not_share_a_tokenizer() -> None:
    text = REPORT + "，网格员已上门"
    a = lexicon(("楼道充电", "上门查看"), version="a")  # words no other test uses: fresh builds
    before = words_of(text, a)
    b = lexicon(("网格员", "上门查看"), version="b")
    in_b = words_of(text, b)
    assert words_of(text, a) == before
    assert "楼道充电" in before and "网格员" not in before
    assert "网格员" in in_b and "楼道充电" not in in_b


def test_lex_2026_adds_words_that_2025_splits() -> None:
    text = "电动自行车在楼道充电，辖区内有人飞线充电"
    assert words_of(text, LEX_2026) == ("电动自行车", "楼道充电", "飞线充电")
    assert "电动自行车" not in words_of(text, LEX_2025)
    assert "辖区" in words_of(text, LEX_2025)


def test_building_and_segmenting_is_quiet_pure_and_leaves_jiebas_cache_alone(
    tmp_path: Path,
) -> None:
    script = (
        "import json, sys\n"
        "from projections.hotwords import words_of\n"
        f"words_of({REPORT!r}, None)\n"
        "io = {'confluent_kafka', 'faust', 'psycopg', 'httpx'}\n"
        "print(json.dumps(sorted(m for m in sys.modules if m.split('.')[0] in io)))\n"
    )
    run = subprocess.run(
        [sys.executable, "-c", script],
        cwd=ROOT,
        env={"TMPDIR": str(tmp_path), "PYTHONPATH": str(ROOT)},
        capture_output=True,
        text=True,
        check=True,
    )
    assert run.stderr == ""
    assert json.loads(run.stdout) == []
    assert list(tmp_path.iterdir()) == []  # no jieba.cache written or read


# --- top_k -----------------------------------------------------------------------------------
def test_top_k_ranks_by_count_then_by_word() -> None:
    counts = {"路灯": 2, "电动车": 5, "甲": 3, "乙": 3, "井盖": 1}
    assert top_k(counts, 3) == [("电动车", 5), ("乙", 3), ("甲", 3)]  # 乙 U+4E59 < 甲 U+7532
    assert top_k(counts, 10) == [("电动车", 5), ("乙", 3), ("甲", 3), ("路灯", 2), ("井盖", 1)]
    assert top_k({}, 3) == []


@pytest.mark.parametrize("k", [0, -1])
def test_top_k_needs_k_of_at_least_one(k: int) -> None:
    with pytest.raises(ValueError, match=f"k must be at least 1.*got {k}"):
        top_k({"电动车": 1}, k)


@given(
    counts=st.dictionaries(st.text(min_size=1, max_size=4), st.integers(0, 5), max_size=30),
    k=st.integers(1, 40),
    seed=st.integers(),
)
def test_top_k_does_not_depend_on_the_insertion_order(
    counts: dict[str, int], k: int, seed: int
) -> None:
    items = list(counts.items())
    random.Random(seed).shuffle(items)
    ranked = top_k(counts, k)
    assert top_k(dict(items), k) == ranked
    assert ranked == sorted(counts.items(), key=lambda item: (-item[1], item[0]))[:k]


# --- the simulated lexicon -------------------------------------------------------------------
@pytest.mark.parametrize("version", list(LEXICONS))
def test_each_version_is_a_valid_event_without_a_word_both_kept_and_stopped(version: str) -> None:
    envelope = example_event("LexiconPublished").envelope
    event = lexicon_event(envelope, version)
    assert LexiconPublished.model_validate(event.model_dump()) == event
    assert event.effective_from == LEXICONS[version][0]
    assert 50 <= len(event.user_words) <= 150 and 30 <= len(event.stop_words) <= 80
    assert len(set(event.user_words)) == len(event.user_words)
    assert len(set(event.stop_words)) == len(event.stop_words)
    assert not set(event.user_words) & set(event.stop_words)
    assert not set(event.user_words) & FUNCTION_WORDS


@pytest.mark.parametrize("lex", [LEX_2025, LEX_2026], ids=lambda lex: lex.version)
def test_every_user_word_stays_whole_in_a_sentence(lex: Lexicon) -> None:
    split = [w for w in lex.user_words if w not in words_of(f"今天发现{w}的情况", lex)]
    assert split == []


def test_lex_2026_keeps_every_word_of_2025_and_applies_from_2026() -> None:
    events = lexicon_events(lambda: example_event("LexiconPublished").envelope)
    assert [e.lexicon_version for e in events] == ["lex-2025.1", "lex-2026.1"]
    assert [e.effective_from for e in events] == [date(2025, 1, 1), date(2026, 1, 1)]
    old, new = events
    assert set(old.user_words) < set(new.user_words)
    assert set(old.stop_words) < set(new.stop_words)
    assert len({e.envelope.event_id for e in events}) == 2


def test_an_unknown_lexicon_version_is_refused() -> None:
    with pytest.raises(ValueError, match="unknown lexicon version 'lex-1999.1'"):
        lexicon_event(example_event("LexiconPublished").envelope, "lex-1999.1")
