"""Hot-word candidates of case report texts, and their deterministic ranking (热词排行).

``words_of(text, lexicon)`` segments one report text with jieba and keeps its distinct
hot-word candidates; a projection counts them per (quarter, district), each report adding
at most 1 per word, and ``top_k`` ranks the counts. The same texts and the same lexicon
version always give the same top-k in the same order.

What a hot word is. A token of jieba's accurate mode (no HMM, see below) is kept when

* it has at least 2 characters, and
* every character is a CJK unified ideograph (U+4E00–U+9FFF), or the token is one of the
  lexicon's user words (kept as the lexicon spells them, e.g. ``5G基站``), so digits, Latin
  letters, punctuation, whitespace and mixed tokens such as ``3号楼`` are dropped, and
* it is neither one of the lexicon's stop words nor in ``FUNCTION_WORDS``.

A word that is both a user word and a stop word is stopped.

Two sources of words to drop. The lexicon's stop words are versioned reference data
(``LexiconPublished``), for domain-generic words (情况, 问题, 居民). ``FUNCTION_WORDS``,
versioned with this code, holds Chinese function words (pronouns, conjunctions, adverbs,
demonstratives, time words) that are never a topic; single characters need no entry.

Segmentation. Each set of user words gets its own ``jieba.Tokenizer`` over a private copy
of one shared prefix dictionary (``add_word`` mutates the tokenizer it is called on, so
versions never share one). The dictionary is read once from the jieba package (0.55–0.7 s,
56 MB); each version then costs a dict copy and its user words (15–20 ms, 15 MB). The last 8
are kept, by user words, so versions with the same words share one. Each user word weighs
what jieba suggests against the base dictionary, whatever the other user words or their
order. Neither the global ``jieba.dt`` nor ``/tmp/jieba.cache`` (which jieba trusts for its
default dictionary without checking its age) is used: ``Tokenizer.initialize``, the only
place jieba logs ("Building prefix dict …"), is never called, so jieba stays quiet without
touching logging. A user word stays whole in most contexts, not all: jieba weighs it
against its neighbours (with 路灯 known, 路灯不亮 still gives 路/灯不亮).

Segments are remembered. jieba cuts a text block by block, a block being a run of
ideographs, letters and digits (``jieba.re_han_default``), each on its own: the words of a
text are the words of its blocks, in order. So each block's candidates are kept, per set of
rules, and a phrase that recurs (路灯不亮, a title) is segmented once: 70 µs a report
becomes a few µs once the phrases have been seen. The result is the same either way; the
memory is bounded (``_MEMO_BLOCKS`` blocks per lexicon, then it starts afresh).

HMM is off. With it, jieba guesses words from runs of characters its dictionary does not
join; both modes are deterministic and cost about the same (49 µs either way for a
28-character report, 64 against 68 µs over simulated reports of 34). But its guesses (号楼,
庄市) are noise in a ranking, a term that matters belongs in the lexicon where it is reviewed
and versioned, and the HMM reads the process-wide ``jieba.finalseg.Force_Split_Words``,
which any other jieba user can grow.

Determinism depends on the jieba release and its bundled dictionary: this was written
against jieba 0.42.1, ``dict.txt`` sha256 7197c321…e12a8. Upgrading jieba can change the
ranking of past quarters; ``tests/unit/test_hotwords.py`` pins a segmentation to notice.
"""

from __future__ import annotations

import heapq
import re
import warnings
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import lru_cache

# jieba 0.42 (its last release) has invalid escape sequences in its sources, which Python 3.12+
# reports as a SyntaxWarning when it compiles them, and imports ``pkg_resources`` when setuptools
# is installed, which warns that the API is deprecated. Neither is ours to fix, and neither may
# fail an import under ``-W error``; every other warning still does.
with warnings.catch_warnings():
    warnings.filterwarnings("ignore", "invalid escape sequence", SyntaxWarning)
    warnings.filterwarnings("ignore", message=r".*pkg_resources", category=UserWarning)
    warnings.filterwarnings("ignore", message=r".*pkg_resources", category=DeprecationWarning)
    import jieba  # type: ignore[import-untyped]

from domain.reference_view import Lexicon

__all__ = ["FUNCTION_WORDS", "top_k", "words_of"]

FUNCTION_WORDS: frozenset[str] = frozenset(
    # pronouns and demonstratives
    "我们 你们 他们 她们 它们 大家 自己 本人 有人 这个 那个 这些 那些 这里 那里 这边 那边"
    " 这样 那样 这种 那种 此事 其中 其他 其它 什么 怎么 如何 为何 哪里 某某"
    # conjunctions and prepositions
    " 因为 所以 但是 可是 而且 并且 或者 还是 以及 如果 虽然 然后 于是 由于 关于 对于"
    " 通过 根据 按照 为了 除了 以后 以前 之后 之前 之间"
    # adverbs and auxiliaries
    " 已经 正在 一直 经常 总是 非常 比较 十分 特别 还有 也是 就是 不是 没有 可以 能够"
    " 应该 可能 一些 一下 一个 一种 一定 有些 等等 目前 现在 当时 今天 昨天 明天"
    " 上午 下午 晚上 每天 最近 近期".split()
)
"""Function words dropped whatever the lexicon says (part of the code's version)."""

_HAN_WORD = re.compile("[\u4e00-\u9fff]{2,}")
_MEMO_BLOCKS = 200_000


def words_of(text: str, lexicon: Lexicon | None) -> tuple[str, ...]:
    """The distinct hot-word candidates of one report text, in first-occurrence order.

    Parameters:
        text: the report text (title or description); may be empty.
        lexicon: the lexicon in force for the report (``ReferenceView.lexicon(on)``);
            ``None`` segments with jieba's dictionary alone and drops only
            ``FUNCTION_WORDS``.

    Each word appears once however often the text repeats it, so one report counts at most
    once per word.
    """
    rules = _rules(lexicon)
    memo = rules.memo
    words: dict[str, None] = {}
    for block in jieba.re_han_default.split(text):
        found = memo.get(block)
        if found is None:
            if len(memo) >= _MEMO_BLOCKS:
                memo.clear()
            found = memo[block] = _candidates(block, rules)
        for word in found:
            words[word] = None
    return tuple(words)


def _candidates(block: str, rules: _Rules) -> tuple[str, ...]:
    """The hot-word candidates of one block, in order, repeats kept."""
    return tuple(
        token
        for token in _tokenizer(rules.user_word_key).cut(block, HMM=False)
        if len(token) >= 2
        and (_HAN_WORD.fullmatch(token) or token in rules.user_words)
        and token not in rules.dropped
    )


def top_k(counts: Mapping[str, int], k: int) -> list[tuple[str, int]]:
    """The ``k`` most frequent words as ``(word, count)``, highest count first.

    Ties go to the word first in code-point order, so the result depends only on the
    counts, never on the order the mapping was built in. Fewer than ``k`` words give all.

    Raises:
        ValueError: if ``k`` is less than 1.
    """
    if k < 1:
        raise ValueError(f"k must be at least 1 (the number of words to rank), got {k}")
    return heapq.nsmallest(k, counts.items(), key=lambda item: (-item[1], item[0]))


@dataclass(frozen=True)
class _Rules:
    user_word_key: tuple[str, ...]  # sorted and distinct: the tokenizer's cache key
    user_words: frozenset[str]
    dropped: frozenset[str]  # the lexicon's stop words and FUNCTION_WORDS
    # block -> its candidates: a cache of _candidates, so it takes no part in equality
    memo: dict[str, tuple[str, ...]] = field(default_factory=dict, compare=False, hash=False)


@lru_cache(maxsize=8)
def _rules(lexicon: Lexicon | None) -> _Rules:
    if lexicon is None:
        return _Rules((), frozenset(), FUNCTION_WORDS)
    user_words = frozenset(lexicon.user_words)
    dropped = FUNCTION_WORDS | frozenset(lexicon.stop_words)
    return _Rules(tuple(sorted(user_words)), user_words, dropped)


@lru_cache(maxsize=1)
def _base_dictionary() -> tuple[dict[str, int], int]:
    """jieba's bundled prefix dictionary (word → frequency, prefixes → 0) and its total."""
    reader = jieba.Tokenizer()
    freq: dict[str, int]
    freq, total = reader.gen_pfdict(reader.get_dict_file())
    return freq, total


@lru_cache(maxsize=8)
def _tokenizer(user_words: tuple[str, ...]) -> jieba.Tokenizer:
    """A tokenizer of its own for these user words (sorted, distinct); never mutate it."""
    freq, total = _base_dictionary()
    tokenizer = jieba.Tokenizer()
    tokenizer.FREQ, tokenizer.total, tokenizer.initialized = dict(freq), total, True
    weights = {word: tokenizer.suggest_freq(word) for word in user_words}
    for word, weight in weights.items():
        tokenizer.add_word(word, weight)
    return tokenizer
