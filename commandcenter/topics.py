"""Hot topics (热点) from the text of citizens' requests: what is rising, and where.

Leaders choose what to discuss with residents from the words that keep coming back in
complaints. A word cloud would only look pretty; this module returns numbers a leader can
ask about and cases behind each of them:

- **keywords**: Chinese words by jieba with part-of-speech tags (a private
  ``jieba.Tokenizer``, so the words we add never change segmentation elsewhere), English
  words by a regular expression, minus a small stop-word list (the boilerplate of every
  complaint such as 反映, 希望, 尽快, 处理) and tokens of one character or digits only.
  Words whose tag says they cannot be a topic are left out: place names (``ns``: the
  hall's townships and communities are taught to the segmenter as places, so 冠山镇 is
  neither a keyword nor cut into two meaningless halves), person names (``nr``), and
  function words (pronouns, numerals and measure words, adverbs, prepositions,
  conjunctions, particles, time and direction words): a place is *where* a topic is
  (the township column of each topic says it), not a topic. A case counts once per
  keyword, however often its text repeats it.
- **heat** of a keyword: the sum over its recent cases of ``0.5 ** (age / half_life)``: a
  case filed now weighs 1, one filed a half-life ago 0.5. Ten cases this morning beat ten
  cases last night.
- **burst** against a baseline: the recent window ``[now - recent_s, now]`` is compared
  with the baseline window ``[now - recent_s - baseline_s, now - recent_s)`` (7 days by
  default). ``expected = baseline count * recent_s / covered``, where ``covered`` is the
  part of the baseline window that the data actually spans (a store holding 8 hours
  cannot say what last week was like, and must not pretend last week was silent).
  ``z = (recent - expected) / sqrt(max(expected, 1))`` (a Poisson count's deviation),
  ``ratio = (recent + 1) / (expected + 1)``. A topic is a burst when ``recent >=
  min_count``, ``z >= z_threshold`` and ``ratio >= ratio_threshold``; when less than
  ``min_baseline_s`` of the baseline is covered, the burst is unknown (``None``).
  Time alone is not coverage: a store holding 8 hours of feed plus a backlog of older
  open cases spans the whole baseline week with a handful of cases, and every keyword
  would look like a ×30 burst. So the baseline is also unknown when it holds fewer than
  ``min_baseline_docs`` cases, or when its case rate (all keywords, scaled to the recent
  window) is below ``min_baseline_share`` of the recent window's case count: a county
  whose whole volume grew more than fivefold is far likelier to be a store that holds
  only part of last week than a real city-wide surge (and even then, per-keyword bursts
  would not say anything the total does not).
- **repeat complaints**: cases with the same place (the address normalised by
  ``commandcenter.addresses.normalise_address``, else the grid) and category within
  ``repeat_s``: ``幸福路１号门口`` and ``幸福路 1 号`` are one place.

Qt-free, so the hall's panels, the briefing export and the tests share one definition.
"""

from __future__ import annotations

import logging
import math
import re
import threading
from collections import Counter, defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from commandcenter.addresses import normalise_address

HOUR = 3600.0
DAY = 24 * HOUR

# Function words and the boilerplate of every complaint: they rank high everywhere and say
# nothing about what is wrong. Kept small on purpose: a long list hides real topics.
STOP_WORDS_ZH: frozenset[str] = frozenset(
    [
        "的",
        "了",
        "和",
        "与",
        "及",
        "或",
        "在",
        "是",
        "有",
        "无",
        "不",
        "也",
        "都",
        "就",
        "还",
        "又",
        "很",
        "太",
        "更",
        "被",
        "把",
        "对",
        "向",
        "从",
        "到",
        "为",
        "以",
        "等",
        "之",
        "一个",
        "一些",
        "这个",
        "那个",
        "这里",
        "那里",
        "这些",
        "那些",
        "我们",
        "你们",
        "他们",
        "我",
        "你",
        "他",
        "她",
        "它",
        "本人",
        "自己",
        "反映",
        "反应",
        "市民",
        "群众",
        "居民",
        "来电",
        "来电人",
        "投诉",
        "举报",
        "诉求",
        "希望",
        "要求",
        "请求",
        "建议",
        "尽快",
        "及时",
        "马上",
        "处理",
        "解决",
        "问题",
        "情况",
        "存在",
        "现在",
        "目前",
        "一直",
        "经常",
        "多次",
        "非常",
        "严重",
        "影响",
        "附近",
        "周边",
        "门口",
        "旁边",
        "现场",
        "相关",
        "部门",
        "有关",
        "进行",
        "没有",
        "可以",
        "需要",
        "已经",
        "因为",
        "所以",
        "但是",
        "如果",
        "造成",
        "导致",
        "发现",
        "出现",
        "今天",
        "昨天",
        "每天",
        "晚上",
        "早上",
        "中午",
        "凌晨",
        "周末",
        "以后",
        "以前",
        "时候",
        "小时",
        "左右",
        "一带",
        "路段",
        "地方",
        "附近",
    ]
)
STOP_WORDS_EN: frozenset[str] = frozenset(
    [
        "the",
        "a",
        "an",
        "and",
        "or",
        "of",
        "to",
        "in",
        "on",
        "at",
        "for",
        "from",
        "by",
        "with",
        "without",
        "is",
        "are",
        "was",
        "were",
        "be",
        "been",
        "being",
        "it",
        "its",
        "this",
        "that",
        "these",
        "those",
        "there",
        "here",
        "as",
        "not",
        "no",
        "but",
        "if",
        "then",
        "than",
        "so",
        "very",
        "too",
        "also",
        "have",
        "has",
        "had",
        "do",
        "does",
        "did",
        "can",
        "could",
        "would",
        "should",
        "will",
        "shall",
        "may",
        "might",
        "must",
        "i",
        "we",
        "you",
        "he",
        "she",
        "they",
        "them",
        "our",
        "your",
        "their",
        "my",
        "me",
        "us",
        "his",
        "her",
        "please",
        "request",
        "requests",
        "requested",
        "complaint",
        "complaints",
        "report",
        "reported",
        "caller",
        "resident",
        "residents",
        "issue",
        "issues",
        "problem",
        "problems",
        "near",
        "nearby",
        "street",
        "avenue",
        "st",
        "ave",
    ]
)
STOP_WORDS: frozenset[str] = STOP_WORDS_ZH | STOP_WORDS_EN

_EN_WORD = re.compile(r"[A-Za-z][A-Za-z'\-]{2,}")
_HAN = re.compile(r"[\u4e00-\u9fff]")
_tokenizer: Any = None
_pos_tokenizer: Any = None
_tokenizer_lock = threading.Lock()


def _jieba() -> Any:
    """The module's own jieba tokenizer, built on first use (loading takes ~1 s once)."""
    global _tokenizer
    with _tokenizer_lock:
        if _tokenizer is None:
            import jieba

            jieba.setLogLevel(logging.WARNING)
            tok = jieba.Tokenizer()
            tok.initialize()
            _tokenizer = tok
        return _tokenizer


# jieba's tags of words that cannot be a topic: places, people, and function words.
_NOT_TOPIC_POS = frozenset(
    {"ns", "nr", "nrfg", "nrt", "r", "m", "mq", "q", "d", "p", "c", "u", "uj", "ul", "uz",
     "ug", "uv", "ud", "t", "f", "s", "e", "y", "o", "x", "zg"}
)  # fmt: skip
PLACE = "ns"
TERM = "n"


def add_words(words: Iterable[str], tag: str = PLACE) -> None:
    """Teach the segmenter whole words with their part of speech: places (``PLACE``, such
    as 冠山镇, which jieba would cut into 冠 + 山镇, and which are then left out of the
    keywords) or the hall's own terms (``TERM``: category names such as 噪音扰民, kept
    whole as one keyword)."""
    tok = _jieba()
    with _tokenizer_lock:
        for w in words:
            w = (w or "").strip()
            if len(w) >= 2:
                tok.add_word(w, freq=2000, tag=tag)


def _tagged(text: str) -> Any:
    global _pos_tokenizer
    tok = _jieba()
    if _pos_tokenizer is None:
        import jieba.posseg

        _pos_tokenizer = jieba.posseg.POSTokenizer(tok)
    return _pos_tokenizer.cut(text)


def tokenize(text: str, stop: frozenset[str] = STOP_WORDS) -> list[str]:
    """Keywords of one text, each once, in order of first appearance.

    Chinese runs go through jieba (precise mode with HMM for unknown words, tagged);
    English words are lower-cased. Dropped: stop words, words tagged as places, people or
    function words, one-character tokens, anything without a Han character or a Latin
    letter (digits, punctuation, house numbers).
    """
    if not text:
        return []
    out: dict[str, None] = {}
    if _HAN.search(text):
        for pair in _tagged(text):
            tok = pair.word.strip()
            if len(tok) < 2 or tok in stop or not _HAN.search(tok):
                continue
            if pair.flag in _NOT_TOPIC_POS:
                continue
            out.setdefault(tok)
    for m in _EN_WORD.finditer(text):
        w = m.group(0).lower().strip("'-")
        if len(w) >= 3 and w not in stop:
            out.setdefault(w)
    return list(out)


@dataclass(frozen=True, slots=True)
class Doc:
    """One case's text and where and when it was filed (``from_case`` reads a Case)."""

    id: str
    text: str
    ts: float
    grid: str = ""
    township: str = ""
    address: str = ""
    category: str = ""

    @classmethod
    def from_case(cls, case: Any) -> Doc:
        title = str(getattr(case, "title", "") or "")
        desc = str(getattr(case, "description", "") or "")
        return cls(
            id=str(case.id),
            text=f"{title} {desc}".strip(),
            ts=float(getattr(case, "created_ts", 0.0) or 0.0),
            grid=str(getattr(case, "grid", "") or ""),
            township=str(getattr(case, "township", "") or ""),
            address=str(getattr(case, "address", "") or ""),
            category=str(getattr(case, "category", "") or ""),
        )


@dataclass(frozen=True, slots=True)
class Topic:
    """One keyword: its heat, its recent and baseline counts, and the cases behind it."""

    keyword: str
    heat: float
    recent: int  # cases in the recent window containing the keyword
    baseline: int  # cases in the baseline window containing it
    expected: float  # baseline scaled to the recent window's length (nan: unknown)
    z: float  # (recent - expected) / sqrt(max(expected, 1)); nan when unknown
    ratio: float  # (recent + 1) / (expected + 1); nan when unknown
    burst: bool | None  # None: too little baseline to judge
    case_ids: tuple[str, ...]  # the recent cases, newest first
    grids: tuple[tuple[str, int], ...]  # (grid, recent count), most first
    townships: tuple[tuple[str, int], ...]  # (township, recent count), most first
    categories: tuple[tuple[str, int], ...]  # (category, recent count), most first


@dataclass(frozen=True, slots=True)
class RepeatGroup:
    """Cases from one place about one category within the repeat window."""

    place: str  # the address as last written (grouped normalised), else the grid
    by_address: bool
    category: str
    grid: str
    township: str
    case_ids: tuple[str, ...]  # oldest first
    first_ts: float
    last_ts: float

    @property
    def count(self) -> int:
        return len(self.case_ids)


@dataclass(frozen=True, slots=True)
class TopicParams:
    """The knobs, with defaults chosen for a county's daily briefing."""

    recent_s: float = DAY
    baseline_s: float = 7 * DAY
    half_life_s: float = 6 * HOUR
    min_count: int = 2  # a topic needs this many recent cases to be listed at all
    z_threshold: float = 3.0
    ratio_threshold: float = 2.0
    min_baseline_s: float = 2 * HOUR  # less baseline than this: burst unknown
    min_baseline_docs: int = 10  # fewer baseline cases than this: burst unknown
    min_baseline_share: float = 0.2  # baseline case rate / recent case count below: unknown
    repeat_s: float = 7 * DAY
    stop: frozenset[str] = field(default=STOP_WORDS)


def _ranked(counter: Counter[str], n: int = 5) -> tuple[tuple[str, int], ...]:
    return tuple(sorted(counter.items(), key=lambda kv: (-kv[1], kv[0]))[:n])


def baseline_known(covered: float, n_base: int, n_recent: int, p: TopicParams) -> bool:
    """Whether the baseline window's data can judge bursts (module docstring): enough of
    it covered in time, enough cases in it, and a case rate not far below the recent one."""
    if covered < p.min_baseline_s or n_base < p.min_baseline_docs:
        return False
    return n_base * p.recent_s / covered >= p.min_baseline_share * n_recent


def hot_topics(
    docs: Sequence[Doc],
    now: float,
    params: TopicParams | None = None,
    *,
    top: int = 20,
    tokens: dict[str, list[str]] | None = None,
) -> list[Topic]:
    """Keywords of the recent window by heat (highest first; ties: more cases, then the
    keyword). ``tokens`` may carry precomputed ``tokenize`` results by doc id (a panel
    keeps them, since a case's text does not change)."""
    p = params or TopicParams()
    r_start = now - p.recent_s
    b_start = r_start - p.baseline_s
    recent: dict[str, list[Doc]] = defaultdict(list)
    base: Counter[str] = Counter()
    earliest = math.inf
    n_recent = n_base = 0
    for d in docs:
        if d.ts > now or d.ts < b_start:
            continue
        earliest = min(earliest, d.ts)
        words = tokens.get(d.id) if tokens is not None else None
        if words is None:
            words = tokenize(d.text, p.stop)
            if tokens is not None:
                tokens[d.id] = words
        if d.ts >= r_start:
            n_recent += 1
            for w in words:
                recent[w].append(d)
        else:
            n_base += 1
            base.update(words)
    covered = max(0.0, r_start - max(b_start, earliest)) if earliest < r_start else 0.0
    known = baseline_known(covered, n_base, n_recent, p)
    out: list[Topic] = []
    for word, ds in recent.items():
        n = len(ds)
        if n < p.min_count:
            continue
        heat = sum(0.5 ** (max(0.0, now - d.ts) / p.half_life_s) for d in ds)
        b = base.get(word, 0)
        if known:
            expected = b * p.recent_s / covered
            z = (n - expected) / math.sqrt(max(expected, 1.0))
            ratio = (n + 1) / (expected + 1)
            burst: bool | None = z >= p.z_threshold and ratio >= p.ratio_threshold
        else:
            expected = z = ratio = math.nan
            burst = None
        ds_sorted = sorted(ds, key=lambda d: (-d.ts, d.id))
        out.append(
            Topic(
                keyword=word,
                heat=heat,
                recent=n,
                baseline=b,
                expected=expected,
                z=z,
                ratio=ratio,
                burst=burst,
                case_ids=tuple(d.id for d in ds_sorted),
                grids=_ranked(Counter(d.grid for d in ds if d.grid)),
                townships=_ranked(Counter(d.township for d in ds if d.township)),
                categories=_ranked(Counter(d.category for d in ds if d.category)),
            )
        )
    out.sort(key=lambda t: (-t.heat, -t.recent, t.keyword))
    return out[:top]


def repeat_complaints(
    docs: Sequence[Doc], now: float, repeat_s: float = 7 * DAY, min_count: int = 2
) -> list[RepeatGroup]:
    """Places with ``min_count`` or more cases of one category filed in ``[now - repeat_s,
    now]``, most cases first (ties: the most recent first). A doc with neither address
    nor grid has no place and is never a repeat."""
    groups: dict[tuple[str, bool, str], list[Doc]] = defaultdict(list)
    for d in docs:
        if d.ts > now or d.ts < now - repeat_s:
            continue
        address = normalise_address(d.address)
        place, by_address = (address, True) if address else (d.grid, False)
        if not place:
            continue
        groups[(place, by_address, d.category)].append(d)
    out = []
    for (_key, by_address, category), ds in groups.items():
        if len(ds) < min_count:
            continue
        ds.sort(key=lambda d: (d.ts, d.id))
        out.append(
            RepeatGroup(
                place=ds[-1].address if by_address else ds[-1].grid,  # as last written
                by_address=by_address,
                category=category,
                grid=ds[-1].grid,
                township=ds[-1].township,
                case_ids=tuple(d.id for d in ds),
                first_ts=ds[0].ts,
                last_ts=ds[-1].ts,
            )
        )
    out.sort(key=lambda g: (-g.count, -g.last_ts, g.place, g.category))
    return out
