"""The checks and cross-field rules of every question, written once, in plain Jinja.

Copier renders a question's ``validator`` with the answers given so far and treats any output as
the error message; the answers model renders the same Jinja through :mod:`.jinja_render`
(:mod:`.evaluate`). Each check emits one line per problem (``group.key[subpath]: message``,
naming the value and the fix), using only built-in Jinja (no extensions), so the template needs
no ``--trust``. Bank data a rule needs (limits, URL schemes, which tools fit which backend) is
read from the bank and embedded as literals: each number is written only in the bank.
Before any of this, copier casts an answer to its question's type; :mod:`.checks` does that part
for answers files.
"""

from __future__ import annotations

import json
import keyword
from collections.abc import Callable, Mapping

from .bank import Bank, Question, RuleName, joined, suitable_schedulers
from .checks import TIMEZONE_FIX, hint, number
from .cron import DIGITS, FIELDS, MACROS, MONTH_DAYS, NAMES

NAME_FIX = "use letters, digits and underscores, not starting with a digit"
CRON_FIX = "write five fields: minute hour day-of-month month day-of-week, e.g. '0 8 * * *'"
SCHEDULE_KEYS = ("name", "cron", "every_seconds")
SCHEDULE_EXAMPLE = (
    "{name: daily_report, cron: '0 8 * * *'} or {name: health_check, every_seconds: 300}"
)

TWICE = "' is listed twice; list each queue once"
USED_TWICE = "' is used twice; give each schedule its own name"
NEITHER = ": has neither cron nor every_seconds; add cron: '0 8 * * *' or every_seconds: 300"
PASSWORD = "' contains a password"


def lit(value: object) -> str:
    """Return a Jinja literal for a string, number, list or dict of those."""
    return json.dumps(value)


def show(expr: str) -> str:
    """Jinja for :func:`.checks.show`: strings quoted, other values as Python prints them."""
    return f'(("\'" ~ {expr} ~ "\'") if {expr} is string else ({expr} | string))'


def describe(expr: str) -> str:
    """Jinja for :func:`.checks.describe`."""
    return (
        f"('null' if {expr} is none else 'a boolean' if {expr} is boolean else 'a number' if "
        f"{expr} is number else 'a string' if {expr} is string else 'a mapping' if {expr} is "
        f"mapping else 'a list' if {expr} is sequence else 'an unsupported value')"
    )


def not_a_list(expr: str) -> str:
    """Jinja test: the value is not a YAML list."""
    return f"({expr} is string or {expr} is mapping or {expr} is not sequence)"


def is_number_text(expr: str) -> str:
    """Jinja test: a non-empty string of ASCII digits."""
    return f"({expr} != '' and {expr}.strip({lit(DIGITS)}) == '')"


def add(message_expr: str) -> str:
    """Append one problem line to the error list."""
    return f"{{%- set ns.errs = ns.errs + [{message_expr}] -%}}"


def _range(q: Question) -> str:
    low, high = number(q.min), number(q.max)
    if q.min_exclusive:
        test = f"not (v > {low} and v <= {high})"
        text = f" is out of range; set a value above {low} and at most {high}{hint(q)}"
    else:
        test = f"not (v >= {low} and v <= {high})"
        text = f" is out of range {low}..{high}; set a value between {low} and {high}{hint(q)}"
    key = lit(q.path + ": ")
    return f"{{%- if {test} -%}}{add(f'{key} ~ v ~ {lit(text)}')}{{%- endif -%}}"


def _text(q: Question) -> str:
    message = f"{q.path}: the name is empty; write one such as '{q.example}'"
    return f"{{%- if v.strip() == '' -%}}{add(lit(message))}{{%- endif -%}}"


def _identifier(q: Question) -> str:
    bad = f" is not a valid Python package name; {NAME_FIX} (e.g. '{q.example}')"
    kw = f" is a Python keyword; choose another name such as '{q.example}'"
    key, value = lit(q.path + ": "), show("v")
    return (
        f"{{%- if not v.isidentifier() -%}}{add(f'{key} ~ {value} ~ {lit(bad)}')}"
        f"{{%- elif v in {lit(keyword.kwlist)} -%}}"
        f"{add(f'{key} ~ {value} ~ {lit(kw)}')}{{%- endif -%}}"
    )


def _multiselect(q: Question) -> str:
    if q.min_items < 1:
        return ""
    message = f"{q.path}: nothing is chosen; choose at least one of: {', '.join(q.choices)}"
    return f"{{%- if v | length < {q.min_items} -%}}{add(lit(message))}{{%- endif -%}}"


def _list_guard(q: Question, example: str) -> str:
    text = f", not a list; write a YAML list such as {example}"
    key, value, kind = lit(q.path + ": "), show("v"), describe("v")
    return f"{{%- if {not_a_list('v')} -%}}" + add(
        f"{key} ~ {value} ~ ' is ' ~ {kind} ~ {lit(text)}"
    )


def _at(q: Question) -> str:
    return f"{lit(q.path + '[')} ~ loop.index0 ~ {lit(']: ')}"


def _identifier_list(q: Question) -> str:
    at = _at(q)
    return (
        _list_guard(q, "[default]")
        + "{%- elif v | length == 0 -%}"
        + add(lit(f"{q.path}: the list is empty; list at least one queue, e.g. [default]"))
        + "{%- else -%}{%- set ns.seen = [] -%}{%- for item in v -%}"
        + "{%- if not (item is string and item.isidentifier()) -%}"
        + add(f"{at} ~ {show('item')} ~ {lit(' is not a valid queue name; ' + NAME_FIX)}")
        + "{%- elif item in ns.seen -%}"
        + add(f'{at} ~ "\'" ~ item ~ {lit(TWICE)}')
        + "{%- else -%}{%- set ns.seen = ns.seen + [item] -%}{%- endif -%}"
        + "{%- endfor -%}{%- endif -%}"
    )


def _delay_list(q: Question) -> str:
    at = _at(q)
    return (
        _list_guard(q, "[60, 300, 900]")
        + "{%- else -%}{%- for item in v -%}"
        + "{%- if item is not integer -%}"
        + add(f"{at} ~ {show('item')} ~ {lit(' is not a whole number of seconds')}")
        + "{%- elif item < 1 -%}"
        + add(f"{at} ~ item ~ {lit(' is not positive; a delay is at least 1 second')}")
        + "{%- elif loop.index0 > 0 and v[loop.index0 - 1] is integer"
        + " and item < v[loop.index0 - 1] -%}"
        + add(
            f"{at} ~ item ~ {lit(' is smaller than the delay before it (')} ~ "
            f"v[loop.index0 - 1] ~ {lit('); delays must not decrease, the last one is the cap')}"
        )
        + "{%- endif -%}{%- endfor -%}{%- endif -%}"
    )


def _cron(expr: str) -> str:
    """Jinja that sets ``ns.cerr`` to the parse error of a cron expression, or ''.

    The grammar of :mod:`.cron` (Debian cron), step by step, naming the field and the part.
    """
    specs = lit([list(spec) for spec in FIELDS])
    names = lit([dict(n) for n in NAMES])
    num = is_number_text
    err = "{%- set ns.cerr = "
    bad = f'{err}spec[0] ~ " part \'" ~ part ~ "\' is not a number, range or step" -%}}'

    def atom(text: str) -> str:  # the atom is digits, or a name of the field
        return f"({num(text)} or ({text} | upper) in names[loop.index0])"

    def value(text: str) -> str:
        return f"(({text} | int) if {num(text)} else names[loop.index0][{text} | upper])"

    return (
        "{%- set ns.cerr = '' -%}"
        f"{{%- set names = {names} -%}}"
        f"{{%- set macros = {lit(MACROS)} -%}}"
        f"{{%- set fields = (macros[{expr}.strip()] if {expr}.strip() in macros else {expr})"
        ".split() -%}"
        "{%- if fields | length != 5 -%}"
        f"{err}'it has ' ~ (fields | length) ~ ' fields, a cron expression has 5' -%}}"
        "{%- else -%}"
        "{%- set ns.day = 99 -%}{%- set ns.longest = 0 -%}"
        "{%- for fld in fields -%}"
        f"{{%- set spec = {specs}[loop.index0] -%}}"
        "{%- set findex = loop.index0 -%}"
        "{%- for part in fld.split(',') -%}{%- if ns.cerr == '' -%}"
        "{%- set pieces = part.split('/') -%}"
        "{%- set ends = pieces[0].split('-') -%}"
        "{%- set ns.step = 1 -%}"
        "{%- if part == '' -%}"
        f"{err}spec[0] ~ ' field has an empty list item' -%}}"
        "{%- elif pieces | length > 2 -%}"
        f"{err}spec[0] ~ \" part '\" ~ part ~ \"' has more than one '/'\" -%}}"
        f"{{%- elif pieces | length == 2 and (not {num('pieces[1]')} or (pieces[1] | int) < 1)"
        " -%}"
        f'{err}spec[0] ~ " step in \'" ~ part ~ "\' must be a whole number of at least 1" -%}}'
        "{%- else -%}"
        "{%- if pieces | length == 2 -%}{%- set ns.step = pieces[1] | int -%}{%- endif -%}"
        "{%- if pieces[0] == '*' -%}{%- set ns.first = spec[1] -%}{%- set ns.last = spec[2] -%}"
        "{%- elif ends | length == 1 and pieces | length == 1 and "
        + atom("ends[0]").replace("loop.index0", "findex")
        + " -%}"
        + "{%- set ns.first = "
        + value("ends[0]").replace("loop.index0", "findex")
        + " -%}{%- set ns.last = ns.first -%}"
        "{%- elif ends | length == 2 and "
        + atom("ends[0]").replace("loop.index0", "findex")
        + " and "
        + atom("ends[1]").replace("loop.index0", "findex")
        + " -%}"
        + "{%- set ns.first = "
        + value("ends[0]").replace("loop.index0", "findex")
        + " -%}{%- set ns.last = "
        + value("ends[1]").replace("loop.index0", "findex")
        + " -%}"
        "{%- if ns.first > ns.last -%}"
        f"{err}spec[0] ~ ' range ' ~ ns.first ~ '-' ~ ns.last ~ ' runs backwards' -%}}"
        "{%- endif -%}"
        "{%- else -%}"
        f"{bad}"
        "{%- endif -%}"
        "{%- if ns.cerr == '' -%}"
        "{%- if ns.first < spec[1] or ns.first > spec[2] -%}"
        f"{err}spec[0] ~ ' value ' ~ ns.first ~ ' is out of range ' ~ spec[1] ~ '..' ~ spec[2]"
        " -%}"
        "{%- elif ns.last < spec[1] or ns.last > spec[2] -%}"
        f"{err}spec[0] ~ ' value ' ~ ns.last ~ ' is out of range ' ~ spec[1] ~ '..' ~ spec[2]"
        " -%}"
        "{%- elif findex == 2 -%}{%- set ns.day = [ns.day, ns.first] | min -%}"
        "{%- elif findex == 3 -%}"
        "{%- for m in range(ns.first, ns.last + 1, ns.step) -%}"
        f"{{%- set ns.longest = [ns.longest, {lit(list(MONTH_DAYS))}[m]] | max -%}}"
        "{%- endfor -%}"
        "{%- endif -%}{%- endif -%}"
        "{%- endif -%}"
        "{%- endif -%}{%- endfor -%}{%- endfor -%}"
        "{%- if ns.cerr == '' and (fields[2].startswith('*') or fields[4].startswith('*'))"
        " and ns.day > ns.longest -%}"
        f"{err}'day-of-month ' ~ ns.day ~ "
        f"{lit(' never comes in the chosen months, so it never fires')} -%}}"
        "{%- endif -%}"
        "{%- endif -%}"
    )


def _schedule_list(q: Question) -> str:
    at = f"{lit(q.path + '[')} ~ idx ~ ']'"  # idx: the outer loop's index (inner loops rebind loop)
    unknown = "; a schedule has name and either cron or every_seconds"
    name, cron, every = "item['name']", "item['cron']", "item['every_seconds']"
    cron_fix = lit("; " + CRON_FIX)
    return (
        _list_guard(q, "[{name: daily_report, cron: '0 8 * * *'}], or [] for none")
        + "{%- else -%}{%- set ns.names = [] -%}{%- for item in v -%}{%- set idx = loop.index0 -%}"
        + "{%- if item is not mapping -%}"
        + add(
            f"{at} ~ ': ' ~ {show('item')} ~ {lit(' is not a mapping; write ' + SCHEDULE_EXAMPLE)}"
        )
        + "{%- else -%}"
        + "{%- for k in item -%}"
        + f"{{%- if k not in {lit(list(SCHEDULE_KEYS))} -%}}"
        + add(f"{at} ~ ': unknown key ' ~ {show('k')} ~ {lit(unknown)}")
        + "{%- endif -%}{%- endfor -%}"
        + "{%- if 'name' not in item -%}"
        + add(f"{at} ~ {lit('.name: missing; name each schedule, e.g. daily_report')}")
        + "{%- elif not (item['name'] is string and item['name'].isidentifier()) -%}"
        + add(f"{at} ~ '.name: ' ~ {show(name)} ~ {lit(' is not a valid name; ' + NAME_FIX)}")
        + "{%- elif item['name'] in ns.names -%}"
        + add(f'{at} ~ ".name: \'" ~ {name} ~ {lit(USED_TWICE)}')
        + "{%- else -%}{%- set ns.names = ns.names + [item['name']] -%}{%- endif -%}"
        + "{%- if 'cron' in item and 'every_seconds' in item -%}"
        + add(f"{at} ~ {lit(': has both cron and every_seconds; keep one')}")
        + "{%- elif 'cron' in item -%}"
        + "{%- if item['cron'] is not string -%}"
        + add(f"{at} ~ '.cron: ' ~ {show(cron)} ~ {lit(' is not a cron expression; ' + CRON_FIX)}")
        + "{%- else -%}"
        + _cron(cron)
        + "{%- if ns.cerr != '' -%}"
        + add(f'{at} ~ ".cron: \'" ~ {cron} ~ "\' does not parse: " ~ ns.cerr ~ {cron_fix}')
        + "{%- endif -%}{%- endif -%}"
        + "{%- elif 'every_seconds' in item -%}"
        + "{%- if item['every_seconds'] is not integer or item['every_seconds'] < 1 -%}"
        + add(
            f"{at} ~ '.every_seconds: ' ~ {show(every)} ~ "
            f"{lit(' is not a whole number of seconds of at least 1; e.g. 300')}"
        )
        + "{%- endif -%}"
        + "{%- else -%}"
        + add(f"{at} ~ {lit(NEITHER)}")
        + "{%- endif -%}"
        + "{%- endif -%}{%- endfor -%}{%- endif -%}"
    )


def _broker_url(q: Question) -> str:
    fix = "; remove it and set the real URL in JOBS_BROKER_URL at run time"
    not_url = f"' is not a URL; write one such as {q.example}"
    start = lit(q.path + ": '")
    return (
        "{%- if v == '' or v.split() | join('') != v or '://' not in v -%}"
        + add(f"{start} ~ v ~ {lit(not_url)}")
        + "{%- else -%}"
        + "{%- set scheme = v.split('://', 1)[0] -%}{%- set rest = v.split('://', 1)[1] -%}"
        + "{%- set netloc = rest.split('/', 1)[0] -%}"
        + "{%- if '@' in netloc and ':' in netloc.rsplit('@', 1)[0] -%}"
        + "{%- set masked = scheme ~ '://' ~ netloc.rsplit('@', 1)[0].split(':', 1)[0] ~ ':***@'"
        + " ~ netloc.rsplit('@', 1)[1] ~ rest[netloc | length:] -%}"
        + add(f"{start} ~ masked ~ {lit(PASSWORD + fix)}")
        + "{%- elif 'password=' in v.lower() -%}"
        + add(lit(f"{q.path}: the URL contains a password parameter{fix}"))
        + "{%- endif -%}{%- endif -%}"
    )


#: Characters of an IANA time zone name ("America/Argentina/Buenos_Aires", "Etc/GMT+5").
TIMEZONE_CHARS = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_+-/"


def _timezone(q: Question) -> str:
    """Jinja cannot read the time zone database, so copier checks the shape of the name only.

    A well-formed name zoneinfo does not know ('Mars/Olympus') passes copier's prompt and is
    rejected by the answers model (``jobforge new``, ``jobforge answers check``) and by the
    generated project's scheduler at start.
    """
    message = f" is not a time zone zoneinfo knows; {TIMEZONE_FIX}"
    return (
        f"{{%- if v == '' or v.strip({lit(TIMEZONE_CHARS)}) != '' or v.startswith('/')"
        " or v.endswith('/') or '//' in v or '..' in v -%}"
        + add(f"{lit(q.path + ': ')} ~ {show('v')} ~ {lit(message)}")
        + "{%- endif -%}"
    )


FIELD_JINJA: Mapping[str, Callable[[Question], str]] = {
    "text": _text,
    "reason": lambda q: "",  # any text, empty included; copier's str type casts the rest
    "identifier": _identifier,
    "int": _range,
    "float": _range,
    "bool": lambda q: "",
    "choice": lambda q: "",
    "multiselect": _multiselect,
    "identifier_list": _identifier_list,
    "delay_list": _delay_list,
    "schedule_list": _schedule_list,
    "broker_url": _broker_url,
    "timezone": _timezone,
}


def _backends(bank: Bank, key: str) -> dict[str, list[str]]:
    return {o.value: list(o.backends) for o in bank.question(key).options}


def _backends_text(bank: Bank, key: str) -> dict[str, str]:
    return {o.value: joined(o.backends) for o in bank.question(key).options}


def _suitable(bank: Bank) -> dict[str, str]:
    return {t.value: joined(suitable_schedulers(bank, t.value)) for t in bank.technologies}


def rule_jinja(bank: Bank, q: Question, name: RuleName) -> str:
    """Return the Jinja of one cross-field rule hosted by ``q`` (the answer is ``v``)."""
    k = lit(q.path + ": ")
    if name == "broker_scheme_fits_technology":
        schemes = {t.value: list(t.url_schemes) for t in bank.technologies}
        label = {t.value: t.label for t in bank.technologies}
        text = {t.value: joined(t.url_schemes) for t in bank.technologies}
        example = {t.value: t.default_broker_url for t in bank.technologies}
        return (
            "{%- set ns.fit = false -%}"
            f"{{%- for s in {lit(schemes)}[queue_technology] -%}}"
            "{%- if v.startswith(s) and v | length > s | length -%}{%- set ns.fit = true -%}"
            "{%- endif -%}{%- endfor -%}"
            "{%- if not ns.fit -%}"
            + add(
                f'{k} ~ "\'" ~ v ~ "\' does not fit queue_technology " ~ queue_technology ~ '
                f"' (' ~ {lit(label)}[queue_technology] ~ '); use a URL starting with ' ~ "
                f"{lit(text)}[queue_technology] ~ ', e.g. ' ~ {lit(example)}[queue_technology]"
            )
            + "{%- endif -%}"
        )
    if name == "max_workers_at_least_worker_count":
        return (
            "{%- if v < worker_count -%}"
            + add(
                f"{k} ~ v ~ ' is below worker_count ' ~ worker_count ~ "
                "'; set max_workers to at least ' ~ worker_count"
            )
            + "{%- endif -%}"
        )
    if name == "scheduler_fits_backend":
        backends = lit(_backends(bank, q.key))
        return (
            f"{{%- if {backends}[v] | length > 0 and queue_technology not in {backends}[v] -%}}"
            + add(
                f"{k} ~ v ~ ' works only with queue_technology ' ~ "
                f"{lit(_backends_text(bank, q.key))}[v] ~ ', not ' ~ queue_technology ~ "
                f"'; choose ' ~ {lit(_suitable(bank))}[queue_technology]"
            )
            + "{%- endif -%}"
        )
    if name == "scheduler_needed":
        return (
            "{%- set ns.needing = '' -%}"
            "{%- if v == 'none' and schedules | length > 0 -%}"
            "{%- set ns.needing = (schedules | length) ~ ' schedule' ~ "
            "('' if schedules | length == 1 else 's') -%}"
            "{%- elif v == 'none' and 'scheduled' in job_types -%}"
            "{%- set ns.needing = 'the scheduled job type' -%}{%- endif -%}"
            "{%- if ns.needing != '' -%}"
            + add(
                f"{k} ~ 'none leaves ' ~ ns.needing ~ ' without a scheduler; choose ' ~ "
                f"{lit(_suitable(bank))}[queue_technology]"
            )
            + "{%- endif -%}"
        )
    if name == "delays_needed_for_retries":
        return (
            "{%- if max_retries > 0 and v | length == 0 -%}"
            + add(
                f"{k} ~ 'the list is empty but max_retries is ' ~ max_retries ~ "
                "'; give at least one delay, e.g. [60, 300, 900], or set max_retries to 0'"
            )
            + "{%- endif -%}"
        )
    if name == "fixed_backoff_equal_delays":
        return (
            "{%- if backoff_strategy == 'fixed' and v | unique | list | length > 1 -%}"
            + add(
                f"{k} ~ v ~ ' differ but backoff_strategy is fixed; use one delay such as [' ~ "
                "v[0] ~ '], or choose exponential'"
            )
            + "{%- endif -%}"
        )
    if name == "retry_and_discard_disjoint":
        return (
            "{%- set both = v | select('in', retry_on) | list -%}"
            "{%- if both | length > 0 -%}"
            + add(
                f"{k} ~ ((both[:-1] | join(', ') ~ ' and ' ~ both[-1]) if both | length > 1 "
                "else both[0]) ~ (' is' if both | length == 1 else ' are') ~ "
                "' in both retry_on and discard_on; an error kind is either retried or "
                "discarded, remove it from one list'"
            )
            + "{%- endif -%}"
        )
    if name == "manual_retry_needs_dlq":
        return (
            "{%- if v and not dead_letter_queue -%}"
            + add(
                f"{k} ~ 'true needs a dead-letter queue to replay from; set dead_letter_queue "
                "to true or manual_retry to false'"
            )
            + "{%- endif -%}"
        )
    if name == "p95_within_timeout":
        return (
            "{%- if v > job_timeout_seconds -%}"
            + add(
                f"{k} ~ v ~ ' exceeds job_timeout_seconds ' ~ job_timeout_seconds ~ "
                "', so the alert could never fire; set it to at most ' ~ job_timeout_seconds"
            )
            + "{%- endif -%}"
        )
    if name == "tools_fit_backend":
        backends = lit(_backends(bank, q.key))
        return (
            "{%- for tool in v -%}"
            f"{{%- if {backends}[tool] | length > 0 and queue_technology not in "
            f"{backends}[tool] -%}}"
            + add(
                f"{k} ~ tool ~ ' works only with queue_technology ' ~ "
                f"{lit(_backends_text(bank, q.key))}[tool] ~ ', not ' ~ queue_technology ~ "
                "'; remove it'"
            )
            + "{%- endif -%}{%- endfor -%}"
        )
    raise ValueError(f"no Jinja for rule {name}")  # pragma: no cover - RuleName is exhaustive


NAMESPACE = (
    "{%- set ns = namespace(errs=[], seen=[], names=[], cerr='', first=0, last=0, step=1, day=99, "
    "longest=0, fit=false, needing='') -%}"
)


#: Where a select list shows a disabled choice's reason: ``   - {label} ({reason})``.
DISABLED_PREFIX, DISABLED_INDENT = 5, 7


def choice_validator(bank: Bank, question: Question, value: str, width: int) -> str:
    """Return the validator disabling one choice of a single-choice question, or ''.

    A select list prints the reason after the choice's label and cuts it at the terminal edge,
    so the reason is wrapped to ``width`` columns, its first line starting after the label.
    """
    if question.kind != "choice" or not question.rules:
        return ""
    rules = "".join(rule_jinja(bank, question, name) for name in question.rules)
    label = question.option(value).display
    pad = "~" * (DISABLED_PREFIX + len(label) + len(" ("))
    # wordwrap does not count the indent it inserts, so every line gets the indent's room.
    wrapped = (
        f"({lit(pad)} ~ (ns.errs | join(' '))) | wordwrap({width - 1 - DISABLED_INDENT}, false, "
        f"{lit(chr(10) + ' ' * DISABLED_INDENT)}, false)"
    )
    return (
        f"{NAMESPACE}{{%- set v = {lit(value)} -%}}{rules}"
        f"{{%- if ns.errs -%}}{{{{- ({wrapped})[{len(pad)}:] -}}}}{{%- endif -%}}"
    )


def recommended_check(question: Question, prelude: str, expected: str) -> str:
    """Jinja failing an answer that differs from the recommended ``expected`` value.

    Copier skips a question its part's recommended settings cover, yet uses a value given for
    it: the value must then be the recommended one.
    """
    flag = question.covered_by
    fix = f", but {flag} is true; set {flag} to false to choose your own, or remove this answer"
    return (
        f"{{%- if {flag} is defined and {flag} -%}}{prelude}{{%- set expected = {expected} -%}}"
        "{%- if v != expected -%}"
        + add(
            f"{lit(question.path + ': ')} ~ {show('v')} ~ ' is not the recommended ' ~ "
            f"{show('expected')} ~ {lit(fix)}"
        )
        + "{%- endif -%}{%- endif -%}"
    )


def field_jinja(question: Question) -> str:
    """Return the Jinja checking one answer on its own (the answer is ``v``), or ''."""
    return FIELD_JINJA[question.kind](question)


def problems_template(question: Question, body: str) -> str:
    """Return a template rendering the problems ``body`` finds as a JSON list (for Python)."""
    return NAMESPACE + f"{{%- set v = {question.key} -%}}" + body + "{{- ns.errs | tojson -}}"


def validator(bank: Bank, question: Question, extra: str = "") -> str:
    """Return the copier ``validator`` of a question, or '' when copier's type check suffices.

    ``extra`` is Jinja run, like the cross-field rules, once the answer passed its own checks.
    """
    field = FIELD_JINJA[question.kind](question)
    rules = "".join(rule_jinja(bank, question, name) for name in question.rules) + extra
    if not field and not rules:
        return ""
    body = field
    if rules:
        body += "{%- if ns.errs | length == 0 -%}" + rules + "{%- endif -%}"
    return NAMESPACE + f"{{%- set v = {question.key} -%}}" + body + "{{- ns.errs | join('\\n') -}}"
