"""Queue ring strategies: the named strategies of Centrex and the 3CX ``pollingstrategy`` codes that map onto them.

A queue stores a strategy by name. 3CX clients (and the native API, as an alternative input) give the
``polling_strategy`` integer of the 3CX WebAPI instead; this table translates it both ways:

    code  3CX name                                 Centrex strategy
    0     Hunt                                     linear
    1     Ring All                                 ring_all
    2     (not defined by 3CX: refused)            -
    3     Hunt random start (the 3CX default)      random_start
    4     Next agent                               round_robin
    5     Longest waiting                          longest_idle
    6     Least talk time                          least_talk_time
    7     Fewest answered                          fewest_calls
    8     Hunt by 3's                              hunt_by_threes
    9     First 3 available                        first_three_available
    10    Skill-based routing: Ring All            skills_ring_all
    11    Skill-based routing: Hunt random start   skills_random_start
    12    Skill-based routing: Round robin         skills_round_robin
    13    Skill-based routing: Fewest answered     skills_fewest_calls

``random`` and ``weighted`` have no 3CX code (their ``polling_strategy`` is ``None``). Value 2 is skipped by the
3CX table although its range is written 0–13; guessing a meaning would silently ring agents in an order nobody
chose, so it is refused with a message that says why. This module is pure (no I/O, no imports of ours).
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Strategy:
    """One way of choosing which agents ring for the next caller."""

    name: str
    description: str
    polling_strategy: int | None = None  # the 3CX code, when 3CX has one
    skills_based: bool = False  # agents are tried by skill level (penalty) first


STRATEGIES: tuple[Strategy, ...] = (
    Strategy("ring_all", "Ring every available agent at once.", 1),
    Strategy("linear", "Hunt in the agents' order, always starting with the first.", 0),
    Strategy("random_start", "Hunt in the agents' order, starting at a random agent.", 3),
    Strategy("round_robin", "Hunt in order, starting after the agent who took the previous call.", 4),
    Strategy("longest_idle", "The agent who has been idle the longest first.", 5),
    Strategy("least_talk_time", "The agent with the least talk time today first.", 6),
    Strategy("fewest_calls", "The agent who answered the fewest calls first.", 7),
    Strategy("hunt_by_threes", "Ring agents three at a time, in order.", 8),
    Strategy("first_three_available", "Ring the first three available agents at once.", 9),
    Strategy("random", "A random available agent each time."),
    Strategy("weighted", "Random, weighted towards agents with a lower penalty."),
    Strategy("skills_ring_all", "Skill-based: ring all agents of the best skill level.", 10, True),
    Strategy("skills_random_start", "Skill-based: hunt from a random agent within the best skill level.", 11, True),
    Strategy("skills_round_robin", "Skill-based: round robin within the best skill level.", 12, True),
    Strategy("skills_fewest_calls", "Skill-based: fewest answered within the best skill level.", 13, True),
)

BY_NAME: dict[str, Strategy] = {s.name: s for s in STRATEGIES}
BY_CODE: dict[int, Strategy] = {s.polling_strategy: s for s in STRATEGIES if s.polling_strategy is not None}
NAMES: tuple[str, ...] = tuple(s.name for s in STRATEGIES)

MIN_CODE = 0
MAX_CODE = 13
UNDEFINED_CODES = frozenset({2})
DEFAULT_CODE = 3
DEFAULT = BY_CODE[DEFAULT_CODE].name  # "random_start": what 3CX uses when the strategy is omitted


class UnknownStrategy(ValueError):
    """A strategy name or 3CX code that does not exist."""


def from_polling(code: int) -> str:
    """The strategy name of a 3CX ``pollingstrategy`` code; ``UnknownStrategy`` for 2 and anything outside 0–13."""
    if code in UNDEFINED_CODES:
        raise UnknownStrategy(
            f"{code} is not a defined 3CX polling strategy (the 3CX table skips it); use one of "
            f"{', '.join(str(c) for c in sorted(BY_CODE))} or a named strategy"
        )
    strategy = BY_CODE.get(code)
    if strategy is None:
        raise UnknownStrategy(f"polling strategy must be {MIN_CODE}–{MAX_CODE} (except 2), not {code}")
    return strategy.name


def to_polling(name: str) -> int | None:
    """The 3CX code of a strategy (``None`` when 3CX has no equivalent)."""
    strategy = BY_NAME.get(name)
    if strategy is None:
        raise UnknownStrategy(f"unknown queue strategy {name!r}; known: {', '.join(NAMES)}")
    return strategy.polling_strategy


def resolve(name: str | None, code: int | None) -> str | None:
    """The strategy named by either input form; both given must agree. ``None`` when neither is given."""
    if code is None:
        if name is not None and name not in BY_NAME:
            raise UnknownStrategy(f"unknown queue strategy {name!r}; known: {', '.join(NAMES)}")
        return name
    from_code = from_polling(code)
    if name is not None and name != from_code:
        raise UnknownStrategy(f"polling strategy {code} is {from_code!r}, which contradicts strategy {name!r}")
    return from_code
