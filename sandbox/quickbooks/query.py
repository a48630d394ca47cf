"""Reading the books: QuickBooks' query language and change data capture.

Queries take the forms python-quickbooks writes (`all`, `filter`, `where`, `get`, `count`, `choose`):
`SELECT * | COUNT(*) | field, … FROM Entity [WHERE cond AND …] [ORDER BY|ORDERBY field [ASC|DESC], …]
[STARTPOSITION n] [MAXRESULTS n]`, a cond being `field op value` (op one of = < > <= >= LIKE, or
`IN (v, …)`) on any field path (`DisplayName`, `Id`, `MetaData.LastUpdatedTime`, `CustomerRef`). As in
QuickBooks: no OR; keywords and text compare ignoring case; ids and amounts compare as numbers and times as
times; customers and items made inactive are left out unless a condition names `Active`; at most 1000 rows.
"""

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal

from sandbox.quickbooks.store import ENTITIES, Company
from sandbox.quickbooks.wire import Fault, business_rule, now, parse_time, required, unsupported

NAME_LISTS = ("Customer", "Item")
MAX_RESULTS = 1000
CDC_DAYS = 30
_TOKEN = re.compile(
    r"\s*(?:(?P<text>'(?:[^'\\]|\\.)*')|(?P<number>-?\d+(?:\.\d+)?)(?![\w.])"
    r"|(?P<symbol><=|>=|!=|[=<>(),*])|(?P<word>[A-Za-z_][\w.]*))"
)


@dataclass
class Condition:
    field: str
    op: str  # = < > <= >= in like
    values: list


@dataclass
class Query:
    entity: str
    fields: list[str] | None = None  # None: every field
    count: bool = False
    conditions: list[Condition] = field(default_factory=list)
    order: list[tuple[str, bool]] = field(default_factory=list)  # (field, descending)
    start: int = 1
    limit: int = 100


def _parser_error(detail: str) -> Fault:
    return Fault("4000", "Error parsing query", f"QueryParserError: {detail}")


class _Tokens:
    def __init__(self, text: str):
        self.items: list[tuple[str, str, int]] = []  # (kind, text, column)
        position, text = 0, text.strip()
        while position < len(text):
            match = _TOKEN.match(text, position)
            if not match or match.end() == position:
                raise _parser_error(
                    f'Encountered "{text[position:].split()[0]}" at line 1, column {position + 1}.'
                )
            kind = match.lastgroup
            self.items.append((kind, match.group(kind), match.start(kind) + 1))
            position = match.end()
        self.position = 0

    def peek(self) -> str:
        return self.items[self.position][1].upper() if self.position < len(self.items) else ""

    def take(self, *expected: str) -> tuple[str, str]:
        if self.position >= len(self.items):
            raise _parser_error(f"Encountered <EOF>, was expecting {' or '.join(expected) or 'more'}.")
        kind, text, column = self.items[self.position]
        if expected and text.upper() not in expected:
            raise _parser_error(
                f'Encountered "{text}" at line 1, column {column}. Was expecting {" or ".join(expected)}.'
            )
        self.position += 1
        return kind, text

    def word(self) -> str:
        kind, text = self.take()
        if kind != "word":
            raise _parser_error(f'Encountered "{text}", was expecting a name.')
        return text

    def value(self):
        kind, text = self.take()
        if kind == "text":
            return re.sub(r"\\(.)", r"\1", text[1:-1])
        if kind == "number":
            return Decimal(text)
        if kind == "word" and text.lower() in ("true", "false"):
            return text.lower() == "true"
        raise _parser_error(f'Encountered "{text}", was expecting a value.')

    def integer(self) -> int:
        kind, text = self.take()
        if kind != "number" or not text.isdigit():
            raise _parser_error(f'Encountered "{text}", was expecting a number.')
        return int(text)


def parse(text: str) -> Query:
    tokens = _Tokens(text)
    tokens.take("SELECT")
    fields: list[str] | None = []
    count = False
    if tokens.peek() == "COUNT":
        tokens.take("COUNT"), tokens.take("("), tokens.take("*"), tokens.take(")")
        count = True
    else:
        while True:
            if tokens.peek() == "*":
                tokens.take("*")
                fields = None
            else:
                name = tokens.word()
                if fields is not None:
                    fields.append(name)
            if tokens.peek() != ",":
                break
            tokens.take(",")
    tokens.take("FROM")
    name = tokens.word()
    entity = next((e for e in ENTITIES if e.lower() == name.lower()), None)
    if entity is None:
        raise unsupported(f"query of {name}")
    query = Query(entity, fields, count)
    if tokens.peek() == "WHERE":
        tokens.take("WHERE")
        query.conditions.append(_condition(tokens))
        while tokens.peek() == "AND":
            tokens.take("AND")
            query.conditions.append(_condition(tokens))
    if tokens.peek() in ("ORDER", "ORDERBY"):
        if tokens.take("ORDER", "ORDERBY")[1].upper() == "ORDER":
            tokens.take("BY")
        while True:
            name = tokens.word()
            descending = tokens.peek() in ("ASC", "DESC") and tokens.take("ASC", "DESC")[1].upper() == "DESC"
            query.order.append((name, descending))
            if tokens.peek() != ",":
                break
            tokens.take(",")
    if tokens.peek() == "STARTPOSITION":
        tokens.take("STARTPOSITION")
        query.start = max(tokens.integer(), 1)
    if tokens.peek() == "MAXRESULTS":
        tokens.take("MAXRESULTS")
        query.limit = min(tokens.integer(), MAX_RESULTS)
    if tokens.position < len(tokens.items):
        _, text, column = tokens.items[tokens.position]
        raise _parser_error(f'Encountered "{text}" at line 1, column {column}.')
    return query


def _condition(tokens: _Tokens) -> Condition:
    name = tokens.word()
    op = tokens.take("=", "<", ">", "<=", ">=", "IN", "LIKE")[1].lower()
    if op != "in":
        return Condition(name, op, [tokens.value()])
    tokens.take("(")
    values = [tokens.value()]
    while tokens.peek() == ",":
        tokens.take(",")
        values.append(tokens.value())
    tokens.take(")")
    return Condition(name, op, values)


def _reader(company: Company, entity: str) -> Callable[[dict, str], object]:
    """Reads a field path of a record, names ignoring case; a reference, email or phone reads as its value.
    LastUpdatedTime reads exactly, not to the second MetaData shows (see Company.updated_at)."""

    def value_at(record: dict, path: str):
        if path.lower() == "metadata.lastupdatedtime":
            return company.updated_at[entity][record["Id"]]
        value = record
        for part in path.lower().split("."):
            value = (
                next((v for k, v in value.items() if k.lower() == part), None)
                if isinstance(value, dict)
                else None
            )
        if isinstance(value, dict):
            value = next((value[k] for k in ("value", "Address", "FreeFormNumber") if k in value), None)
        return value

    return value_at


def _comparable(path: str, value):
    if value is None or isinstance(value, bool | datetime):
        return value
    if path.lower().endswith("time"):
        try:
            return parse_time(str(value))
        except ValueError:
            raise _parser_error(f"Invalid date-time: {value}") from None
    text = str(value)
    if re.fullmatch(r"-?\d+(\.\d+)?", text):
        return Decimal(text)
    return text.casefold()


def _matches(actual, condition: Condition) -> bool:
    actual = _comparable(condition.field, actual)
    if actual is None:
        return False
    wanted = [_comparable(condition.field, v) for v in condition.values]
    try:
        if condition.op == "in":
            return actual in wanted
        if condition.op == "like":
            pattern = "".join(
                ".*" if part == "%" else re.escape(part) for part in re.split("(%)", str(wanted[0]))
            )
            return re.fullmatch(pattern, str(actual), re.DOTALL) is not None
        return {
            "=": actual == wanted[0],
            "<": actual < wanted[0],
            ">": actual > wanted[0],
            "<=": actual <= wanted[0],
            ">=": actual >= wanted[0],
        }[condition.op]
    except TypeError:  # e.g. a text compared with a number: QuickBooks finds nothing either
        return False


def run(company: Company, text: str) -> dict:
    """The QueryResponse for a query, as QuickBooks answers it."""
    query = parse(text)
    value_at = _reader(company, query.entity)
    records = [company.shown(query.entity, r) for r in company.records[query.entity].values()]
    conditions = list(query.conditions)
    if query.entity in NAME_LISTS and not any(c.field.lower() == "active" for c in conditions):
        conditions.append(Condition("Active", "=", [True]))
    found = [r for r in records if all(_matches(value_at(r, c.field), c) for c in conditions)]
    if query.count:
        return {"totalCount": len(found)}
    found.sort(key=lambda r: int(r["Id"]))
    for name, descending in reversed(query.order):
        found.sort(
            key=lambda r, name=name: _sort_key(_comparable(name, value_at(r, name))), reverse=descending
        )
    page = found[query.start - 1 : query.start - 1 + query.limit]
    if query.fields:
        page = [{k: r[k] for k in query.fields if k in r} | {"domain": "QBO", "sparse": True} for r in page]
    if not page:
        return {}
    return {query.entity: page, "startPosition": query.start, "maxResults": len(page)}


def _sort_key(value) -> tuple:
    return (value is None, value if isinstance(value, Decimal | datetime) else str(value))


def changes(company: Company, entities: str, changed_since: str) -> list[dict]:
    """CDCResponse's QueryResponse list: per entity asked for, what changed at or after `changed_since`."""
    if not entities.strip():
        raise required("entities")
    if not changed_since.strip():
        raise required("changedSince")
    try:
        since = parse_time(changed_since)
    except ValueError:
        raise business_rule(f"Invalid changedSince: {changed_since}") from None
    if since < now() - timedelta(days=CDC_DAYS):
        raise business_rule(f"changedSince must be within the last {CDC_DAYS} days.")
    answer = []
    for name in (n.strip() for n in entities.split(",")):
        entity = next((e for e in ENTITIES if e.lower() == name.lower()), None)
        if entity is None:
            raise unsupported(f"change data capture of {name}")
        updated_at = company.updated_at[entity]
        changed = sorted(
            (r for r in company.records[entity].values() if updated_at[r["Id"]] >= since),
            key=lambda r: updated_at[r["Id"]],
        )
        shown = [company.shown(entity, r) for r in changed[:MAX_RESULTS]]
        answer.append(
            {entity: shown, "startPosition": 1, "maxResults": len(shown), "totalCount": len(shown)}
            if shown
            else {}
        )
    return answer
