"""The input fitter's repairs from forward's source and from shape errors (ranks.py, reshaping.py)."""

from __future__ import annotations

import sys
import textwrap
import time
from pathlib import Path

import pytest

torch = pytest.importorskip("torch")

pytestmark = pytest.mark.probe

sys.path.insert(0, str(Path(__file__).parent / "probe_models"))
import shapes_zoo  # noqa: E402

from initlint.probe.fitting import fit_inputs  # noqa: E402
from initlint.probe.ranks import _einops_rank, forward_ranks  # noqa: E402
from initlint.probe.reshaping import rank_from_message  # noqa: E402


def fitted(model) -> dict[str, str]:
    torch.manual_seed(0)
    fit = fit_inputs(model, {}, {}, type(model).__name__, 0, time.monotonic() + 60)
    args, kwargs = fit.make(5, 1)  # another batch than the trial's: the shapes must not depend on it
    model(*args, **kwargs)
    return {spec.name: spec.describe() for spec in fit.specs}


def test_a_bare_convolution_weight_gives_the_input_its_rank_and_channels():
    assert fitted(shapes_zoo.EqualConv()) == {"input": "Bx12x32x32 float32"}


def test_a_bare_linear_weight_is_read_as_out_by_in():
    assert fitted(shapes_zoo.EqualLinear()) == {"input": "Bx48 float32"}


def test_the_rank_forward_reads_from_an_argument():
    assert fitted(shapes_zoo.AxisSwap()) == {"x": "Bx64x32x32 float32"}


def test_a_size_reshaped_from_another_argument_sets_the_channels():
    assert fitted(shapes_zoo.Modulated()) == {"input": "Bx6x32x32 float32", "style": "Bx20 float32"}


def test_attention_arguments_become_sequences_of_one_length():
    assert fitted(shapes_zoo.HeadsAttention()) == {"q": "Bx16x32 float32", "k": "Bx16x32 float32", "v": "Bx16x32 float32"}


def test_rnn_states_are_layers_by_batch_by_hidden():
    assert fitted(shapes_zoo.TutorialRNN()) == {"x": "Bx32x1 float32", "h_state": "1xBx24 float32"}
    assert fitted(shapes_zoo.LSTMWithState()) == {"x": "Bx32 ids<50", "h": "(2xBx24 float32, 2xBx24 float32)"}


def test_the_argument_named_like_a_mask_becomes_the_boolean_mask():
    assert fitted(shapes_zoo.MaskedBlock()) == {"a": "Bx16 float32", "mask": "Bx16 bool"}


def test_an_argument_forward_iterates_and_that_loses_a_dimension_is_a_list():
    assert fitted(shapes_zoo.StyleList()) == {"styles": "(Bx32 float32)"}




def test_forward_ranks_read_indexes_unpacking_permute_einops_and_stop_at_rebinding():
    model = shapes_zoo.HeadsAttention()
    ranks = forward_ranks(model)
    assert (ranks["q"].least, ranks["k"].least) == (2, 2) and "v" not in ranks
    assert forward_ranks(shapes_zoo.Modulated())["input"].exact == 4
    assert forward_ranks(shapes_zoo.AxisSwap())["x"].least == 4
    assert forward_ranks(shapes_zoo.StyleList())["styles"].iterated
    assert _einops_rank("b c (h p1) (w p2) -> b (h w) (p1 p2 c)") == 4
    assert _einops_rank("... d -> ... d") == 0


@pytest.mark.parametrize("message, rank", [
    ("Expected 3D (unbatched) or 4D (batched) input to conv2d, but got input of size: [3, 64]", 4),
    ("Padding size 4 is not supported for 2D input tensor.", 4),
    ("adaptive_avg_pool2d(): Expected 3D or 4D tensor, but got [3, 64]", 4),
    ("Tensors must have same number of dimensions: got 2 and 4", 4),
    ("Dimension out of range (expected to be in range of [-2, 1], but got 2)", 3),
    ("mat1 and mat2 shapes cannot be multiplied (3x4 and 5x6)", None),
])
def test_the_rank_a_failing_op_says_it_needs(message, rank):
    assert rank_from_message(message) == rank


def test_an_image_concatenated_with_a_tiled_label_keeps_its_share_of_the_channels():
    assert fitted(shapes_zoo.ConditionedGenerator()) == {"x": "Bx3x32x32 float32", "c": "Bx5 float32"}


def test_arguments_combined_element_wise_get_one_shape():
    assert fitted(shapes_zoo.DistanceLogit()) == {"d0": "Bx1x32x32 float32", "d1": "Bx1x32x32 float32"}


def test_a_starred_shape_unpacking_gives_the_rank():
    assert forward_ranks(shapes_zoo.StarredHeads())["x"].exact == 3
    assert fitted(shapes_zoo.StarredHeads()) == {"x": "Bx16x32 float32"}


def test_an_initial_state_that_comes_first_is_not_where_the_signal_starts():
    from initlint.probe.measure import measure

    model = shapes_zoo.StateFirstRNN()
    fit = fit_inputs(model, {}, {}, "StateFirstRNN", 0, time.monotonic() + 60)
    assert {s.name: s.describe() for s in fit.specs} == {"hidden": "1xBx5 float32", "X": "Bx32x7 float32"}
    assert fit.data_arg() == 1
    args, kwargs = fit.make(8, 0)
    report = measure(model, args, example_kwargs=kwargs, sgd_steps=0, data_arg=fit.data_arg())
    assert (report.input_shape, report.batch) == ([8, 32, 7], 8)


def test_a_rank_the_training_branch_reads_is_given_when_that_input_runs_too():
    model = shapes_zoo.LockedDropout()
    model.train()
    assert fitted(model) == {"x": "Bx16x64 float32"}
    assert model.training  # the fitter leaves the mode as it found it


def test_a_token_count_forward_asserts_against_the_built_resolution_sets_the_sequence_length():
    assert fitted(shapes_zoo.TokenGridBlock()) == {"x": "Bx24x24 float32"}
    assert fitted(shapes_zoo.TokenGridStage()) == {"x": "Bx24x24 float32"}


def test_a_size_assert_names_the_expression_it_evaluated():
    from initlint.probe.inputs import ArgSpec
    from initlint.probe.size_asserts import assert_size_repairs

    model = shapes_zoo.TokenGridBlock(dim=8, input_resolution=(2, 3))
    x = torch.zeros(3, 5, 8)
    spec = ArgSpec("x", "float", (5, 8))
    with pytest.raises(AssertionError) as caught:
        model(x)
    (repaired,) = list(assert_size_repairs([spec], caught.value, {id(x): "x"}))
    assert repaired[0].shape == (6, 8)
    assert repaired[0].why == "forward asserts L == H * W (H * W = 6)"
    assert list(assert_size_repairs([spec], caught.value, {})) == []  # not a fed tensor: no repair


def test_a_mask_repeated_over_the_heads_has_the_rank_the_repeat_lists():
    from initlint.probe.inputs import ArgSpec
    from initlint.probe.size_asserts import repeat_rank_repairs

    model = shapes_zoo.RepeatedMaskAttention()
    x, mask = torch.zeros(3, 16, 32), torch.zeros(3, 4, 16, 16, dtype=torch.bool)
    specs = [ArgSpec("x", "float", (16, 32)), ArgSpec("attn_mask", "float", (4, 16, 16), dtype="bool")]
    with pytest.raises(RuntimeError) as caught:
        model(x, mask)
    (repaired,) = list(repeat_rank_repairs(specs, caught.value, {id(x): "x", id(mask): "attn_mask"}))
    assert repaired[1].shape == (16, 16)
    assert repaired[1].why == "forward repeats it over 4 dimensions (attn_mask.unsqueeze(1).repeat(1, self.n_heads, 1, 1))"
    assert fitted(model) == {"x": "Bx16x32 float32", "attn_mask": "Bx16x16 bool"}


def test_features_merged_from_four_neighbours_are_a_quarter_of_the_layer_width():
    assert fitted(shapes_zoo.MergeNeighbours()) == {"x": "Bx16x8 float32"}
    assert fitted(shapes_zoo.MergeNeighboursReduceFirst()) == {"x": "Bx16x8 float32"}


def test_a_flat_input_that_runs_as_one_token_through_a_softmax_becomes_a_sequence():
    assert fitted(shapes_zoo.FlatViewAttention()) == {"Q": "Bx16x32 float32", "K": "Bx16x32 float32", "V": "Bx16x32 float32"}


def test_an_adjacency_matrix_masked_against_node_pair_scores_is_square_over_the_batch():
    assert fitted(shapes_zoo.DenseGraphAttention()) == {"h": "Bx16 float32", "adj": "BxB float32"}


def test_an_adjacency_matrix_whose_nonzero_entries_index_the_nodes_is_square_over_the_batch():
    assert fitted(shapes_zoo.SparseGraphAttention()) == {"x": "Bx16 float32", "adj": "BxB float32"}
