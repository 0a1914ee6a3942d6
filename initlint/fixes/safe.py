"""Safe fixes: the code keeps its meaning, or an obvious slip is corrected.

IL501 deprecated alias -> the ``_`` form; IL503 ``apply(init_fn())`` -> ``apply(init_fn)``;
IL206 swapped uniform bounds; IL502 an in-place init outside no_grad -> ``with torch.no_grad():``
(or ``.data`` where a statement cannot be wrapped).
"""

from __future__ import annotations

import math

import libcst as cst

from initlint.fixes.base import Change, FixContext
from initlint.fixes.calls import Imports, code, dotted, statement_of, view_call
from initlint.model.syntax import number_literal

#: IL502's in-place init methods; a run of them after the flagged one is wrapped together
_INPLACE = frozenset({"normal_", "uniform_", "fill_", "zero_"})


def deprecated_alias(ctx: FixContext) -> Change | None:
    """IL501: ``nn.init.normal(w)`` -> ``nn.init.normal_(w)``; a name imported from
    torch.nn.init also gets its ``_`` form imported beside it."""
    call = ctx.node
    if not isinstance(call, cst.Call):
        return None
    func = call.func
    if isinstance(func, cst.Attribute):
        new = func.attr.value + "_"
        return Change(f"use `{new}` (same arguments)", {func.attr: cst.Name(new)})
    if not isinstance(func, cst.Name):
        return None
    imports = Imports(ctx.module)
    origin = imports.resolve(func.value)
    if origin != f"torch.nn.init.{func.value}":
        return None  # an alias (``normal as nrm``) or not torch's: leave it
    new = func.value + "_"
    change = Change(f"use `{new}` (same arguments)", {func: cst.Name(new)})
    if new in imports.aliases or imports.star_imports("torch.nn.init"):
        return change
    for statement in imports.from_imports:
        if dotted(statement.module) != "torch.nn.init" or isinstance(statement.names, cst.ImportStar):
            continue
        names = list(statement.names)
        for position, alias in enumerate(names):
            if alias.asname is None and dotted(alias.name) == func.value:
                added = cst.ImportAlias(name=cst.Name(new), comma=alias.comma)
                names[position] = alias.with_changes(comma=cst.Comma(whitespace_after=cst.SimpleWhitespace(" ")))
                names.insert(position + 1, added)
                change.replace[statement] = statement.with_changes(names=names)
                return change
    return None


def pass_init_function(ctx: FixContext) -> Change | None:
    """IL503: ``model.apply(init_fn())`` -> ``model.apply(init_fn)``, when the call passes no
    argument and ``init_fn`` (defined in this file) takes the module as its one argument."""
    call = ctx.node
    if not (isinstance(call, cst.Call) and isinstance(call.func, cst.Attribute) and len(call.args) == 1):
        return None
    inner = call.args[0].value
    if not isinstance(inner, cst.Call) or inner.args:
        return None
    spelled = dotted(inner.func)
    if spelled is None:
        return None
    name = spelled.rsplit(".", 1)[-1]
    if ctx.details.get("function", name) != name:
        return None
    definition = _definition(ctx, spelled)
    if definition is None or not _takes_one_module(definition, method=spelled.startswith("self.")):
        return None
    return Change(f"pass `{spelled}` itself to apply", {inner: inner.func})


def _definition(ctx: FixContext, spelled: str) -> cst.FunctionDef | None:
    if spelled.startswith("self.") and spelled.count(".") == 1:
        owner = ctx.enclosing(cst.ClassDef)
        body = owner.body.body if isinstance(owner, cst.ClassDef) else ()
        name = spelled[5:]
    elif "." not in spelled:
        body, name = ctx.module.body, spelled
    else:
        return None
    for statement in body:
        if isinstance(statement, cst.FunctionDef) and statement.name.value == name:
            return statement
    return None


def _takes_one_module(definition: cst.FunctionDef, method: bool) -> bool:
    """One positional parameter without a default (after ``self``): what apply passes."""
    params = list(definition.params.posonly_params) + list(definition.params.params)
    if method:
        params = params[1:]
    required = [p for p in params if p.default is None]
    return bool(params) and len(required) <= 1


def swap_bounds(ctx: FixContext) -> Change | None:
    """IL206: ``uniform_(w, 0.1, -0.1)`` -> ``uniform_(w, -0.1, 0.1)``; keywords keep their names."""
    call = ctx.node
    if not isinstance(call, cst.Call):
        return None
    view = view_call(call, Imports(ctx.module))
    if view is None or view.name.rstrip("_") != "uniform":
        return None
    low, high = view.args.get("a"), view.args.get("b")
    if low is None or high is None:
        return None
    for arg, key in ((low, "low"), (high, "high")):
        value = number_literal(arg.value)
        expected = ctx.details.get(key)
        if value is not None and isinstance(expected, (int, float)) and not math.isclose(value, expected):
            return None  # the arguments are not the bounds the finding names
    return Change(
        f"swap the bounds: a={code(ctx.module, high.value)}, b={code(ctx.module, low.value)}",
        {low: low.with_changes(value=high.value), high: high.with_changes(value=low.value)},
    )


def no_grad(ctx: FixContext) -> Change | None:
    """IL502: wrap the statement (and the in-place inits right after it) in
    ``with torch.no_grad():``; where it is no statement of its own, write through ``.data``."""
    call = ctx.node
    if not (isinstance(call, cst.Call) and isinstance(call.func, cst.Attribute)):
        return None
    imports = Imports(ctx.module)
    torch = imports.spelling_of("torch")
    placed = statement_of(call, ctx.ancestors)
    if torch is not None and placed is not None:
        line, block = placed
        body = list(block.body)
        index = next(i for i, item in enumerate(body) if item is line)
        run = [line]
        while index + len(run) < len(body) and _inplace_init_line(body[index + len(run)]):
            run.append(body[index + len(run)])
        wrapped = cst.With(
            items=[cst.WithItem(cst.parse_expression(f"{torch}.no_grad()"))],
            body=cst.IndentedBlock(body=[run[0].with_changes(leading_lines=()), *run[1:]]),
            leading_lines=run[0].leading_lines,
        )
        change = Change(f"run it under `with {torch}.no_grad():`", {run[0]: wrapped})
        for item in run[1:]:
            change.replace[item] = cst.RemovalSentinel.REMOVE
        return change
    receiver = call.func.value
    data = cst.Attribute(value=receiver, attr=cst.Name("data"))
    return Change("write through `.data` (autograd does not track it)", {receiver: data})


def _inplace_init_line(statement: cst.CSTNode) -> bool:
    if not (isinstance(statement, cst.SimpleStatementLine) and len(statement.body) == 1):
        return False
    expression = statement.body[0]
    if not (isinstance(expression, cst.Expr) and isinstance(expression.value, cst.Call)):
        return False
    func = expression.value.func
    return isinstance(func, cst.Attribute) and func.attr.value in _INPLACE and not _through_data(func.value)


def _through_data(node: cst.BaseExpression) -> bool:
    return isinstance(node, cst.Attribute) and node.attr.value == "data"
