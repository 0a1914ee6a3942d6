"""transformers' modular files (``modular_<model>.py``) read with its generator's semantics.

The fixture project under fixtures/modular imitates transformers' layout: a source model
(models/src: configuration_src.py, modeling_src.py) and modular files subclassing it. In
modular_new.py, ``NewModel(SrcModel)`` means a copy of SrcModel with Src renamed to New: its
decoder layer is Src's renamed (this file defines none), whose ``SrcMLP`` is this file's
``NewMLP``, and post_init applies this file's ``_init_weights``. The same code in a file with
another name keeps Python's semantics: SrcModel's own layers and ``_init_weights``.
"""

from __future__ import annotations

import pytest

from conftest import FIXTURES, expected_markers
from initlint import check_source
from initlint.engine import coverage_of
from initlint.model.coverage import Coverage
from initlint.model.modular import Rename, rename_of
from initlint.model.values import UNKNOWN

MODELS = FIXTURES / "modular" / "transformers" / "models"


def _findings(relative: str):
    path = MODELS / relative
    return path, check_source(path.read_text(), str(path))


@pytest.mark.parametrize("relative", ["new/modular_new.py", "good/modular_good.py", "plain/modeling_plain.py", "src/modeling_src.py"])
def test_each_file_gives_exactly_its_marked_findings(relative):
    path, found = _findings(relative)
    assert sorted((f.code, f.location.line) for f in found) == expected_markers(path.read_text())


def test_the_modular_override_runs_on_the_renamed_copy_of_the_source_model():
    _, found = _findings("new/modular_new.py")
    assert [(f.code, f.location.line, f.message) for f in found] == [(
        "IL202", 28,
        "N(0, 1^2) on `module.gate.weight` (`layers.0.mlp.gate.weight`) gives E[W^2] = 1; at fan-in 256 "
        "(config.hidden_size) the variance gain is 256 per layer (std x16); PyTorch's default gives 0.33 "
        "(model built with config = NewConfig())",
    )]
    assert found[0].prediction.model == "NewModel"


def test_a_modular_file_s_init_calls_are_evaluated_and_a_plain_file_s_never_run():
    assert coverage_of(MODELS / "new" / "modular_new.py") == Coverage(calls=1, known=1)
    assert coverage_of(MODELS / "good" / "modular_good.py") == Coverage(calls=1, known=1)
    # the same classes in modeling_plain.py: SrcModel builds SrcMLP (no gate) and its MRO
    # reaches SrcPreTrainedModel._init_weights, so the override is never run
    assert coverage_of(MODELS / "plain" / "modeling_plain.py") == Coverage(calls=1, known=0)
    assert coverage_of(MODELS / "src" / "modeling_src.py") == Coverage(calls=3, known=3)


def test_a_source_class_the_modular_file_does_not_define_is_a_renamed_copy(tmp_path):
    # NewMLP renamed away: the copied decoder layer's SrcMLP means NewMLP, which the modular
    # file no longer defines, so it is Src's MLP renamed (no gate); OtherMLP is never built
    path = MODELS / "new" / "modular_new.py"
    text = path.read_text().replace("NewMLP", "OtherMLP")
    assert check_source(text, str(path)) == []
    assert coverage_of(_copy_of(path, text, tmp_path)) == Coverage(calls=1, known=0)


def test_a_renamed_name_neither_file_defines_stays_unknown(tmp_path):
    # without NewConfig the copied ``config: SrcConfig`` means the generated file's NewConfig,
    # a class of a file that does not exist yet: no config defaults are assumed (not SrcConfig's)
    path = MODELS / "new" / "modular_new.py"
    text = path.read_text().replace("class NewConfig(SrcConfig):\n    model_type = \"new\"\n", "")
    assert "NewConfig" not in text
    assert check_source(text, str(path)) == []
    assert coverage_of(_copy_of(path, text, tmp_path)) == Coverage(calls=1, known=0)


def _copy_of(path, text, tmp_path):
    """The fixture tree with ``path`` replaced by ``text`` (coverage_of reads the file)."""
    import shutil

    root = tmp_path / "transformers"
    shutil.copytree(MODELS.parent, root)
    copy = root / path.relative_to(MODELS.parent)
    copy.write_text(text)
    return copy


@pytest.mark.parametrize(("base", "source", "child", "new", "pair"), [
    ("OlmoModel", "olmo", "Olmo2Model", "olmo2", ("Olmo", "Olmo2")),
    ("LlamaAttention", "llama", "Olmo2Attention", "olmo2", ("Llama", "Olmo2")),
    # the old and new names share "Detr": the source model's name decides where the prefix ends
    ("DeformableDetrModel", "deformable_detr", "TestDetrModel", "test_detr", ("DeformableDetr", "TestDetr")),
    # the new prefix is what the child's name puts before the shared suffix
    ("LlamaModel", "llama", "Multimodal1TextModel", "multimodal1", ("Llama", "Multimodal1Text")),
    ("GPTNeoXLayer", "gpt_neox", "NewLayer", "new", ("GPTNeoX", "New")),
    # no shared suffix: the new model's own name as the child spells it
    ("LlamaMLP", "llama", "Olmo2FeedForward", "olmo2", ("Llama", "Olmo2")),
    ("LlamaMLP", "llama", "FeedForward", "olmo2", None),
])
def test_the_rename_comes_from_the_source_file_and_the_class_names(base, source, child, new, pair):
    rename = rename_of(base, source, child, new)
    assert (None if rename is None else (rename.old, rename.new)) == pair


def test_a_rename_replaces_each_case_variant_on_identifier_word_boundaries():
    rename = Rename("DeformableDetr", "TestDetr")
    assert rename("DeformableDetrDecoderLayer") == "TestDetrDecoderLayer"
    assert rename("DEFORMABLE_DETR_INPUTS") == "TEST_DETR_INPUTS"
    assert rename("deformable_detr_attention") == "test_detr_attention"
    assert rename("MyDeformableDetrLayer") == "MyDeformableDetrLayer"  # not at a word start
    assert rename("DeformableDetraLayer") == "DeformableDetraLayer"  # another word
    assert rename("multi_scale_deformable_attention") == "multi_scale_deformable_attention"
    assert Rename("GPTNeoX", "Nova")("GPTNeoXLayer") == "NovaLayer"
    # an acronym is its own upper case: the class names' spelling wins
    assert Rename("CLIP", "CLIPSeg")("CLIPTextEmbeddings") == "CLIPSegTextEmbeddings"


def _classes(path):
    """The evaluated, rebased classes of a linted file, by name."""
    from initlint.engine import load_source, parse, read_syntax, remember, source_file
    from initlint.model.entries import evaluate_file
    from initlint.model.project import Project
    from initlint.model.values import ClassValue

    text = path.read_text()
    module = parse(text)
    source = source_file(str(path), module, text)
    remember(source)
    facts = evaluate_file(source, Project(load_source), read_syntax(module))
    return {name: value for name, value in facts.namespace.names.items() if isinstance(value, ClassValue)}


def test_a_method_that_raises_attribute_error_drops_the_inherited_one(tmp_path):
    # the generator's idiom for "not this method": the merged class has neither the modular
    # file's nor SrcPreTrainedModel's _init_weights; transformers' own (outside the tree) is left
    path = MODELS / "good" / "modular_good.py"
    text = path.read_text().replace(
        "        super()._init_weights(module)\n        if isinstance(module, NewMLP):\n"
        "            module.gate.weight.data.normal_(mean=0.0, std=self.config.initializer_range)\n",
        '        raise AttributeError("the library\'s own init")\n',
    )
    assert "raise AttributeError" in text
    classes = _classes(_copy_of(path, text, tmp_path))
    found = classes["NewPreTrainedModel"].lookup("_init_weights")
    assert found is UNKNOWN  # transformers' PreTrainedModel, whose code is not evaluated
    own, merged, library = classes["NewPreTrainedModel"].mro()
    assert merged.namespace.source.path.endswith("modeling_src.py") and library.name.endswith("PreTrainedModel")
    assert "_init_weights" not in own.body and "_init_weights" not in merged.body
    assert check_source(text, str(path)) == []


SOURCE_WITH_TEXT_CLASS = "\n\nclass SrcTextEmbedding(nn.Embedding):\n    pass\n"
PREFIXED = '''
class NewTextMLP(SrcMLP):
    pass


class NewTextPreTrainedModel(SrcPreTrainedModel):
    pass


class NewTextModel(SrcModel):
    pass


class NewTextDecoderLayer(SrcDecoderLayer):
    pass
'''


@pytest.mark.parametrize(("collision", "base"), [(False, "NewTextPreTrainedModel"), (True, "NewPreTrainedModel")])
def test_one_prefix_per_source_file_the_most_proposed_unless_the_source_has_it(tmp_path, collision, base):
    # four classes propose NewText, three New (NewMLP, NewPreTrainedModel, NewModel): NewText
    # wins, so the copied SrcModel's base SrcPreTrainedModel means NewTextPreTrainedModel; when
    # the source already has a SrcText... class, the generator keeps the model's own name, New
    path = MODELS / "new" / "modular_new.py"
    text = path.read_text().replace("import SrcMLP,", "import SrcDecoderLayer, SrcMLP,") + PREFIXED
    copy = _copy_of(path, text, tmp_path)
    if collision:
        source = copy.parent.parent / "src" / "modeling_src.py"
        source.write_text(source.read_text() + SOURCE_WITH_TEXT_CLASS)
    classes = _classes(copy)
    merged = classes["NewTextModel"].mro()
    assert [getattr(item, "name", None) for item in merged[:3]] == ["NewTextModel", "NewTextModel", base]
    assert merged[2] is classes[base]
