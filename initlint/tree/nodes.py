"""The syntax tree the evaluator reads: libcst's node classes and fields, built from CPython's parser.

libcst's parser builds a lossless tree: every space, comment and bracket is a node, and each
node is a validated frozen dataclass. The evaluator reads none of the formatting, and building
it is most of a libcst parse; importing libcst (260 dataclasses made at import) is 0.2 s of
every run. These classes carry the same names and the same semantic fields as libcst's
(``Call.func``, ``Call.args``, ``Arg.star``, ``Parameters.kwonly_params``, ...), so the code that
reads the tree is written once against libcst's well documented shapes, and build.py fills them
from ``ast.parse`` at a fraction of the cost. libcst stays what edits source (fixes/).

Each node also keeps where it is: ``span`` is CPython's (line, column, end line, end column),
columns counted in UTF-8 bytes as CPython counts them; positions.py turns them into characters.
"""

from __future__ import annotations

import enum
from typing import Iterator


class CSTNode:
    """A node: the fields libcst gives it that carry meaning, and where it is in the source."""

    __slots__ = ("span",)
    #: the fields that may hold child nodes, in source order
    fields: tuple[str, ...] = ()
    #: every field, children or not (``Name.value``, ``Arg.star``)
    all_fields: tuple[str, ...] = ()

    @property
    def children(self) -> list["CSTNode"]:
        """The child nodes, in source order."""
        out: list[CSTNode] = []
        for name in self.fields:
            value = getattr(self, name)
            if isinstance(value, CSTNode):
                out.append(value)
            elif isinstance(value, (list, tuple)):
                out.extend(child for child in value if isinstance(child, CSTNode))
        return out

    def walk(self) -> Iterator["CSTNode"]:
        """This node and everything under it, depth first."""
        stack: list[CSTNode] = [self]
        while stack:
            node = stack.pop()
            yield node
            stack.extend(reversed(node.children))

    def __repr__(self) -> str:
        shown = ", ".join(f"{name}={getattr(self, name)!r}" for name in self.all_fields)
        return f"{type(self).__name__}({shown})"


class MaybeSentinel(enum.Enum):
    """libcst's marker for an optional piece of syntax that is absent (``Parameters.star_arg``)."""

    DEFAULT = "DEFAULT"


# ----- abstract bases, as libcst names them
class BaseExpression(CSTNode):
    __slots__ = ()


class BaseStatement(CSTNode):
    __slots__ = ()


class BaseCompoundStatement(BaseStatement):
    __slots__ = ()


class BaseSmallStatement(CSTNode):
    __slots__ = ()


class BaseSuite(CSTNode):
    __slots__ = ()


class BaseSlice(CSTNode):
    __slots__ = ()


class BaseOp(CSTNode):
    __slots__ = ()


class BaseBinaryOp(BaseOp):
    __slots__ = ()


class BaseUnaryOp(BaseOp):
    __slots__ = ()


class BaseBooleanOp(BaseOp):
    __slots__ = ()


class BaseCompOp(BaseOp):
    __slots__ = ()


class BaseAugOp(BaseOp):
    __slots__ = ()


class BaseString(BaseExpression):
    __slots__ = ()


class BaseNumber(BaseExpression):
    __slots__ = ()


def _node(name: str, base: type, children: str = "", leaves: str = "") -> type:
    """A node class with ``children`` (fields that hold nodes) and ``leaves`` (strings, flags)."""
    child_fields = tuple(children.split())
    every = child_fields + tuple(leaves.split())
    return type(name, (base,), {"__slots__": every, "fields": child_fields, "all_fields": every, "__module__": __name__})


# ----- module and statements
Module = _node("Module", CSTNode, "body")
SimpleStatementLine = _node("SimpleStatementLine", BaseStatement, "body")
IndentedBlock = _node("IndentedBlock", BaseSuite, "body")
SimpleStatementSuite = _node("SimpleStatementSuite", BaseSuite, "body")
Expr = _node("Expr", BaseSmallStatement, "value")
Assign = _node("Assign", BaseSmallStatement, "targets value")
AssignTarget = _node("AssignTarget", CSTNode, "target")
AnnAssign = _node("AnnAssign", BaseSmallStatement, "target annotation value")
Annotation = _node("Annotation", CSTNode, "annotation")
AugAssign = _node("AugAssign", BaseSmallStatement, "target operator value")
Return = _node("Return", BaseSmallStatement, "value")
Raise = _node("Raise", BaseSmallStatement, "exc cause")
From = _node("From", CSTNode, "item")
Assert = _node("Assert", BaseSmallStatement, "test msg")
Pass = _node("Pass", BaseSmallStatement)
Break = _node("Break", BaseSmallStatement)
Continue = _node("Continue", BaseSmallStatement)
Del = _node("Del", BaseSmallStatement, "target")
Global = _node("Global", BaseSmallStatement, "names")
Nonlocal = _node("Nonlocal", BaseSmallStatement, "names")
NameItem = _node("NameItem", CSTNode, "name")
Import = _node("Import", BaseSmallStatement, "names")
ImportFrom = _node("ImportFrom", BaseSmallStatement, "module names relative")
ImportAlias = _node("ImportAlias", CSTNode, "name asname")
ImportStar = _node("ImportStar", CSTNode)
AsName = _node("AsName", CSTNode, "name")
Dot = _node("Dot", CSTNode)
TypeAlias = _node("TypeAlias", BaseSmallStatement, "name value")
FunctionDef = _node("FunctionDef", BaseCompoundStatement, "decorators name params returns body", "asynchronous pending")


def _body_when_read(node: "FunctionDef", name: str):  # type: ignore[valid-type]
    """A function of another file is built without its body (build.py, ``lazy``): the body is
    built when first read, as most functions of a file read for its definitions never run."""
    if name != "body":
        raise AttributeError(name)
    build = node.pending  # an unset slot raises AttributeError again: no body, no builder
    node.body = body = build()
    node.pending = None
    return body


FunctionDef.__getattr__ = _body_when_read  # type: ignore[attr-defined]
FunctionDef.all_fields = ("decorators", "name", "params", "returns", "body", "asynchronous")  # not the builder
Decorator = _node("Decorator", CSTNode, "decorator")
Parameters = _node("Parameters", CSTNode, "posonly_params params star_arg kwonly_params star_kwarg", "posonly_ind")
Param = _node("Param", CSTNode, "name annotation default", "star")
ParamStar = _node("ParamStar", CSTNode)
ParamSlash = _node("ParamSlash", CSTNode)
Asynchronous = _node("Asynchronous", CSTNode)
ClassDef = _node("ClassDef", BaseCompoundStatement, "decorators name bases keywords body")
If = _node("If", BaseCompoundStatement, "test body orelse")
Else = _node("Else", CSTNode, "body")
For = _node("For", BaseCompoundStatement, "target iter body orelse", "asynchronous")
While = _node("While", BaseCompoundStatement, "test body orelse")
Try = _node("Try", BaseCompoundStatement, "body handlers orelse finalbody")
TryStar = _node("TryStar", BaseCompoundStatement, "body handlers orelse finalbody")
ExceptHandler = _node("ExceptHandler", CSTNode, "type name body")
ExceptStarHandler = _node("ExceptStarHandler", CSTNode, "type name body")
Finally = _node("Finally", CSTNode, "body")
With = _node("With", BaseCompoundStatement, "items body", "asynchronous")
WithItem = _node("WithItem", CSTNode, "item asname")
Match = _node("Match", BaseCompoundStatement, "subject cases")
MatchCase = _node("MatchCase", CSTNode, "guard body")

# ----- expressions
Name = _node("Name", BaseExpression, "", "value")
Attribute = _node("Attribute", BaseExpression, "value attr")
Call = _node("Call", BaseExpression, "func args")
Arg = _node("Arg", CSTNode, "keyword value", "star")
Integer = _node("Integer", BaseNumber, "", "value")
Float = _node("Float", BaseNumber, "", "value")
Imaginary = _node("Imaginary", BaseNumber, "", "value")
ConcatenatedString = _node("ConcatenatedString", BaseString, "left right")
FormattedString = _node("FormattedString", BaseString, "parts", "start end")
FormattedStringText = _node("FormattedStringText", CSTNode, "", "value")
FormattedStringExpression = _node("FormattedStringExpression", CSTNode, "expression format_spec", "conversion")
Ellipsis = _node("Ellipsis", BaseExpression)
BinaryOperation = _node("BinaryOperation", BaseExpression, "left operator right")
UnaryOperation = _node("UnaryOperation", BaseExpression, "operator expression")
BooleanOperation = _node("BooleanOperation", BaseExpression, "left operator right")
Comparison = _node("Comparison", BaseExpression, "left comparisons")
ComparisonTarget = _node("ComparisonTarget", CSTNode, "operator comparator")
Tuple = _node("Tuple", BaseExpression, "elements")
List = _node("List", BaseExpression, "elements")
Set = _node("Set", BaseExpression, "elements")
Element = _node("Element", CSTNode, "value")
StarredElement = _node("StarredElement", BaseExpression, "value")
Dict = _node("Dict", BaseExpression, "elements")
DictElement = _node("DictElement", CSTNode, "key value")
StarredDictElement = _node("StarredDictElement", CSTNode, "value")
Subscript = _node("Subscript", BaseExpression, "value slice")
SubscriptElement = _node("SubscriptElement", CSTNode, "slice")
Index = _node("Index", BaseSlice, "value", "star")
Slice = _node("Slice", BaseSlice, "lower upper step")
Lambda = _node("Lambda", BaseExpression, "params body")
IfExp = _node("IfExp", BaseExpression, "body test orelse")  # fields in source order
NamedExpr = _node("NamedExpr", BaseExpression, "target value")
Await = _node("Await", BaseExpression, "expression")
Yield = _node("Yield", BaseExpression, "value")
ListComp = _node("ListComp", BaseExpression, "elt for_in")
SetComp = _node("SetComp", BaseExpression, "elt for_in")
GeneratorExp = _node("GeneratorExp", BaseExpression, "elt for_in")
DictComp = _node("DictComp", BaseExpression, "key value for_in")
CompFor = _node("CompFor", CSTNode, "target iter ifs inner_for_in", "asynchronous")
CompIf = _node("CompIf", CSTNode, "test")


class SimpleString(BaseString):
    """A string literal as written (``value`` keeps prefix and quotes, as in libcst)."""

    __slots__ = ("value",)
    fields = ()
    all_fields = ("value",)

    @property
    def evaluated_value(self) -> str | bytes:
        import ast

        return ast.literal_eval(self.value)


# ----- operators: one node each, compared by type as libcst's are
Add = _node("Add", BaseBinaryOp)
Subtract = _node("Subtract", BaseBinaryOp)
Multiply = _node("Multiply", BaseBinaryOp)
MatrixMultiply = _node("MatrixMultiply", BaseBinaryOp)
Divide = _node("Divide", BaseBinaryOp)
FloorDivide = _node("FloorDivide", BaseBinaryOp)
Modulo = _node("Modulo", BaseBinaryOp)
Power = _node("Power", BaseBinaryOp)
LeftShift = _node("LeftShift", BaseBinaryOp)
RightShift = _node("RightShift", BaseBinaryOp)
BitOr = _node("BitOr", BaseBinaryOp)
BitXor = _node("BitXor", BaseBinaryOp)
BitAnd = _node("BitAnd", BaseBinaryOp)
Plus = _node("Plus", BaseUnaryOp)
Minus = _node("Minus", BaseUnaryOp)
Not = _node("Not", BaseUnaryOp)
BitInvert = _node("BitInvert", BaseUnaryOp)
And = _node("And", BaseBooleanOp)
Or = _node("Or", BaseBooleanOp)
Equal = _node("Equal", BaseCompOp)
NotEqual = _node("NotEqual", BaseCompOp)
LessThan = _node("LessThan", BaseCompOp)
LessThanEqual = _node("LessThanEqual", BaseCompOp)
GreaterThan = _node("GreaterThan", BaseCompOp)
GreaterThanEqual = _node("GreaterThanEqual", BaseCompOp)
Is = _node("Is", BaseCompOp)
IsNot = _node("IsNot", BaseCompOp)
In = _node("In", BaseCompOp)
NotIn = _node("NotIn", BaseCompOp)
AddAssign = _node("AddAssign", BaseAugOp)
SubtractAssign = _node("SubtractAssign", BaseAugOp)
MultiplyAssign = _node("MultiplyAssign", BaseAugOp)
MatrixMultiplyAssign = _node("MatrixMultiplyAssign", BaseAugOp)
DivideAssign = _node("DivideAssign", BaseAugOp)
FloorDivideAssign = _node("FloorDivideAssign", BaseAugOp)
ModuloAssign = _node("ModuloAssign", BaseAugOp)
PowerAssign = _node("PowerAssign", BaseAugOp)
LeftShiftAssign = _node("LeftShiftAssign", BaseAugOp)
RightShiftAssign = _node("RightShiftAssign", BaseAugOp)
BitOrAssign = _node("BitOrAssign", BaseAugOp)
BitXorAssign = _node("BitXorAssign", BaseAugOp)
BitAndAssign = _node("BitAndAssign", BaseAugOp)
