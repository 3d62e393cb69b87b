"""Hot topics on hand-made texts with known answers: segmentation, stop words, heat,
burst against the baseline (and "unknown" without one), repeat complaints."""

from __future__ import annotations

import math

import pytest

from commandcenter.topics import (
    DAY,
    HOUR,
    TERM,
    Doc,
    TopicParams,
    add_words,
    hot_topics,
    repeat_complaints,
    tokenize,
)

NOW = 1_800_000_000.0


def test_tokenize_chinese_and_english_without_stop_words() -> None:
    words = tokenize("市民反映幸福小区夜间烧烤噪音扰民，希望尽快处理。Loud noise from BBQ stalls!")
    assert "烧烤" in words
    # "噪音扰民" is one word once a panel taught the segmenter the demo's category names
    assert ("噪音" in words and "扰民" in words) or "噪音扰民" in words
    assert not {"市民", "反映", "希望", "尽快", "处理"} & set(words), "boilerplate is dropped"
    assert "loud" in words and "noise" in words and "bbq" in words and "from" not in words
    assert all(len(w) >= 2 for w in words)
    assert tokenize("噪音噪音噪音").count("噪音") == 1, "a case counts once per keyword"
    assert tokenize("") == [] and tokenize("12345 !!") == []


def test_places_people_and_function_words_are_not_topics() -> None:
    add_words(["冠山镇", "幸福社区"])  # taught as places, the way the panel teaches the county's
    words = tokenize("冠山镇幸福社区路灯坏了，张三说已经三天了，晚上很黑")
    assert "路灯" in words
    assert not {"冠山镇", "幸福社区", "山镇"} & set(words), "a place is where, not what"
    assert not {"张三", "已经", "三天", "晚上"} & set(words), words
    # without the tagging the place would be a keyword (the test can fail)
    add_words(["青龙湾"], tag="n")
    assert "青龙湾" in tokenize("青龙湾路灯坏了")


def test_the_halls_terms_stay_whole() -> None:
    add_words(["噪音扰民"], tag=TERM)
    assert "噪音扰民" in tokenize("夜间噪音扰民严重")


def doc(
    i: int, text: str, age_h: float, grid: str = "g1", address: str = "", cat: str = "噪音"
) -> Doc:
    return Doc(f"C{i}", text, NOW - age_h * HOUR, grid=grid, address=address, category=cat)


def test_heat_decays_with_age_and_ranks_topics() -> None:
    docs = [
        doc(1, "噪音，扰民", 0),
        doc(2, "噪音，扰民", 6),
        doc(3, "路灯损坏", 0),
        doc(4, "路灯损坏", 0),
    ]
    p = TopicParams(recent_s=DAY, half_life_s=6 * HOUR, min_count=2)
    topics = {t.keyword: t for t in hot_topics(docs, NOW, p)}
    assert topics["噪音"].heat == pytest.approx(1.5)  # 1 + 0.5 (one half-life old)
    assert topics["路灯"].heat == pytest.approx(2.0)
    order = [t.keyword for t in hot_topics(docs, NOW, p)]
    assert order.index("路灯") < order.index("噪音")
    assert topics["噪音"].case_ids == ("C1", "C2"), "newest first"


def test_burst_against_a_baseline_with_known_numbers() -> None:
    # baseline: 7 days before the last 24 h, one 噪音 case per day -> expected 1 per day
    base = [doc(100 + d, "噪音，扰民", 24 + 24 * d + 12) for d in range(7)]
    recent = [doc(i, "噪音，扰民", i * 0.5) for i in range(6)]  # 6 cases today
    other = [doc(200, "路灯损坏", 2), doc(201, "路灯损坏", 3)]
    for d in range(7):  # 路灯 also two a day in the baseline: not rising
        other += [
            doc(300 + 2 * d, "路灯损坏", 30 + 24 * d),
            doc(301 + 2 * d, "路灯损坏", 31 + 24 * d),
        ]
    p = TopicParams(recent_s=DAY, baseline_s=7 * DAY, min_count=2)
    topics = {t.keyword: t for t in hot_topics(base + recent + other, NOW, p)}
    noise = topics["噪音"]
    # the baseline covers the span from its first case to the start of the recent window
    covered = (24 + 6 * 24 + 12) * HOUR - 24 * HOUR
    expected = 7 * DAY / covered
    assert noise.recent == 6 and noise.baseline == 7
    assert noise.expected == pytest.approx(expected)
    assert noise.z == pytest.approx((6 - expected) / math.sqrt(max(expected, 1)))
    assert noise.ratio == pytest.approx(7 / (expected + 1))
    assert noise.burst is True
    lamp = topics["路灯"]
    assert lamp.burst is False and lamp.recent == 2


def test_no_baseline_means_burst_unknown_not_true() -> None:
    docs = [doc(i, "井盖缺失", i) for i in range(5)]
    t = hot_topics(docs, NOW, TopicParams(recent_s=DAY))[0]
    assert t.burst is None and math.isnan(t.z)


def test_min_count_and_future_cases_are_left_out() -> None:
    docs = [doc(1, "占道经营", 1), doc(2, "占道经营", -1)]  # the second is in the future
    assert hot_topics(docs, NOW, TopicParams(min_count=2)) == []


def test_repeat_complaints_by_address_else_grid_and_category() -> None:
    docs = [
        doc(1, "噪音", 1, address="幸福路1号"),
        doc(2, "噪音", 30, address="幸福路1号"),
        doc(3, "噪音", 50, address="幸福路1号"),
        doc(4, "噪音", 2, address="幸福路2号"),
        doc(5, "垃圾", 3, grid="g9", cat="垃圾满溢"),
        doc(6, "垃圾", 4, grid="g9", cat="垃圾满溢"),
        doc(7, "噪音", 9 * 24, address="幸福路2号"),  # outside the 7 days
        doc(8, "噪音", 5, address="幸福路1号", cat="占道经营"),  # other category
        Doc("C9", "无地点", NOW - 10, category="垃圾满溢"),
        Doc("C10", "无地点", NOW - 20, category="垃圾满溢"),
    ]
    groups = repeat_complaints(docs, NOW)
    assert [(g.place, g.category, g.case_ids) for g in groups] == [
        ("幸福路1号", "噪音", ("C3", "C2", "C1")),
        ("g9", "垃圾满溢", ("C6", "C5")),
    ]
    assert groups[0].by_address and not groups[1].by_address


def test_a_backlog_spanning_the_week_is_not_a_baseline() -> None:
    # the store holds 8 h of feed (40 cases, 噪音 in 20) plus a backlog of 4 older open
    # cases scattered over the baseline week: time is "covered", the rate is not
    recent = [doc(i, "噪音，扰民" if i % 2 else "路灯损坏", i * 0.2) for i in range(40)]
    backlog = [doc(100 + d, "噪音，扰民", 30 + 40 * d) for d in range(4)]
    p = TopicParams(recent_s=DAY, baseline_s=7 * DAY, min_count=2)
    topics = {t.keyword: t for t in hot_topics(recent + backlog, NOW, p)}
    assert topics["噪音"].burst is None and math.isnan(topics["噪音"].ratio)
    assert all(t.burst is None for t in topics.values())
    # the same keyword against a real week (10 cases a day, 噪音 in 1 a day): a burst
    week = [
        doc(1000 + 10 * d + k, "噪音，扰民" if k == 0 else "路灯损坏", 25 + 24 * d + 2 * k)
        for d in range(7)
        for k in range(10)
    ]
    t = {t.keyword: t for t in hot_topics(recent + week, NOW, p)}["噪音"]
    assert t.baseline == 7 and t.burst is True


def test_baseline_known_rule_with_known_numbers() -> None:
    from commandcenter.topics import baseline_known

    p = TopicParams(recent_s=DAY)
    assert not baseline_known(HOUR, 50, 10, p)  # under 2 h covered
    assert not baseline_known(7 * DAY, 9, 1, p)  # under 10 cases
    # 14 cases over 7 days = 2 a day, recent 11 -> 2 >= 0.2 * 11: known; recent 11 -> ok
    assert baseline_known(7 * DAY, 14, 10, p)
    assert not baseline_known(7 * DAY, 14, 11, p)  # 2 < 0.2 * 11 = 2.2


def test_repeat_complaints_match_one_address_however_written() -> None:
    spellings = ["幸福路1号", "幸福路 1 号", "幸福路１号门口", "幸福路一号", "幸福路1号附近"]
    docs = [doc(i, "噪音", i, address=a) for i, a in enumerate(spellings)]
    docs.append(doc(9, "噪音", 2, address="幸福路11号"))  # a different door
    docs.append(doc(10, "噪音", 3, address="幸福路十一号"))
    groups = repeat_complaints(docs, NOW)
    assert [g.case_ids for g in groups] == [("C4", "C3", "C2", "C1", "C0"), ("C10", "C9")]
    assert groups[0].place == "幸福路1号", "shown as last written"
