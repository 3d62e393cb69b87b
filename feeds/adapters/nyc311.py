"""NYC 311 service requests (CSV export and Socrata JSON) as feed-protocol cases.

Real requests check the ranking against numbers nobody tuned: the department league table
of a replay must equal an independent pandas computation (tests/test_nyc311.py).

The mapping is the shipped ``nyc311`` source profile (feeds/sources/profiles/nyc311.toml),
the one ``main.py import --profile nyc311`` uses, so an import, a replay and this adapter
cannot disagree: ``Unique Key`` -> ``NYC<key>``; New York wall times; ``Agency`` -> the
responsible department; ``Complaint Type`` -> category; ``Descriptor`` -> description
(and the title after the category); ``Borough`` -> township (``Unspecified`` -> none);
``Incident Zip``, else ``Community Board`` -> grid; ``Due Date`` -> the request's own
deadline, which the SLA counts against; a request with a closed date is closed whatever
its status says. Every record the profile rejects is a ``Skipped`` with the profile's
reason (``missing_id``, ``bad_date:created``, ``closed_before_created``,
``missing_department``, ``wrong_type:lat``, ``duplicate_id``, ...; docs/sources.md).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from pathlib import Path

import msgspec
import numpy as np

from feeds import protocol as p
from feeds.adapters import Imported, Skipped, Version
from feeds.sources.profile import Profile, load_profile
from feeds.sources.tabular import Table, map_table, read_table

PROFILE = "nyc311"


def _profile() -> Profile:
    return load_profile(PROFILE)


def read_file(path: str | Path, profile: Profile | None = None) -> Imported:
    """One export (CSV or Socrata JSON, by suffix) -> its cases and what was skipped.
    Records are numbered from 1 in file order (a CSV's header not counted)."""
    path = Path(path)
    prof = profile or _profile()
    try:
        table = read_table(path, prof)
    except (ValueError, OSError) as err:
        return Imported(skipped=[Skipped(path.name, "", "unreadable_file", str(err)[:200])], read=1)
    out = Imported(skipped=[Skipped(path.name, "", "file_problem", msg) for msg in table.problems])
    mapped = map_table(table, prof)
    out.read = mapped.read + len(table.problems)
    position = np.searchsorted(table.rows, mapped.rejected["row"].to_numpy()) + 1
    keys = [str(k) for k in mapped.rejected[_id_column(table, prof)]] if len(mapped.rejected) else []
    for pos, key, reason, detail in zip(position, keys, mapped.rejected["reason"],
                                        mapped.rejected["detail"], strict=True):  # fmt: skip
        out.skipped.append(Skipped(f"{path.name}:{pos}", key, str(reason), str(detail)[:200]))
    cases = mapped.cases
    finished = cases.finished
    for i in range(len(cases)):
        versions = [Version(p.CASE_CREATED, float(cases.created[i]), cases.record(i, False))]
        if finished[i]:
            versions.append(Version(p.CASE_UPDATED, float(cases.end[i]), cases.record(i, True)))
        out.cases.append(versions)
    return out


def _id_column(table: Table, prof: Profile) -> str:
    return next((c for c in prof.fields["id"].columns if c in table.frame.columns), "row")


def read(*paths: str | Path) -> Imported:
    """Any number of files; a case id seen in an earlier file is kept once."""
    out = Imported()
    prof = _profile()
    for path in paths:
        out.extend(read_file(path, prof))
    seen: set[str] = set()
    cases = []
    for versions in out.cases:
        cid = versions[0].case.id
        if cid in seen:
            out.skipped.append(Skipped("", cid[len(prof.id_prefix) :], "duplicate_id"))
            continue
        seen.add(cid)
        cases.append(versions)
    out.cases = cases
    return out


def replay(
    imported: Imported | Iterable[list[Version]], start_seq: int = 1
) -> Iterator[p.Envelope]:
    """Protocol envelopes of every case version in time order, ``seq`` from ``start_seq``.

    Ties in time keep a case's created event before its update (a request closed the
    second it was opened), then follow case ids, so a replay is the same every time.
    """
    cases = imported.cases if isinstance(imported, Imported) else imported
    items = [
        (v.ts, 0 if v.kind == p.CASE_CREATED else 1, v.case.id, v)
        for versions in cases
        for v in versions
    ]
    items.sort(key=lambda t: t[:3])
    for seq, (_, _, _, v) in enumerate(items, start=start_seq):
        data = msgspec.to_builtins(v.case)
        data.update(v.extra)
        yield p.Envelope(v=p.PROTOCOL_VERSION, seq=seq, kind=v.kind, ts=v.ts, data=data)
