from dataclasses import replace

import pytest
import torch

from fer_model.models import (
    MODEL_NAMES,
    ModelConfig,
    build_model,
    deepen,
    default_config,
    fuse_for_inference,
)


@pytest.mark.parametrize("name", MODEL_NAMES)
@pytest.mark.parametrize("fc_layers", [1, 2])
def test_model_shapes_and_gradients(name: str, fc_layers: int) -> None:
    torch.manual_seed(0)
    cfg = default_config(name, fc_layers=fc_layers, widths=(8, 16, 16), stem=8, cov_channels=6)
    model = build_model(cfg)
    x = torch.randn(4, 1, cfg.input_size, cfg.input_size)
    out = model(x)
    assert out.shape == (4, 7)
    out.logsumexp(1).sum().backward()
    for pname, p in model.named_parameters():
        assert p.grad is not None and torch.isfinite(p.grad).all(), pname


@pytest.mark.parametrize("name", MODEL_NAMES)
def test_bn_fusion_keeps_outputs(name: str) -> None:
    torch.manual_seed(0)
    model = build_model(default_config(name, widths=(8, 16, 16), stem=8, cov_channels=6))
    model.train()
    for _ in range(3):  # non-trivial BN running statistics
        model(torch.randn(8, 1, 44, 44))
    model.eval()
    x = torch.randn(2, 1, 44, 44)
    with torch.no_grad():
        before = model(x)
        after = fuse_for_inference(model)(x)
    torch.testing.assert_close(after, before, rtol=1e-4, atol=1e-4)


def test_config_round_trip_and_unknown_name() -> None:
    cfg = default_config("rescov", widths=(8, 8, 8))
    assert ModelConfig.from_dict(cfg.to_dict()) == cfg
    with pytest.raises(ValueError):
        build_model(ModelConfig(name="nope"))


@pytest.mark.parametrize("name", ["resnet", "rescov"])
def test_deepened_model_starts_as_the_old_one_and_trains_its_new_blocks(name: str) -> None:
    torch.manual_seed(0)
    old_cfg = default_config(name, widths=(8, 16, 16), stem=8, cov_channels=6)
    old = build_model(old_cfg)
    old.train()
    for _ in range(3):  # non-trivial BN running statistics to carry over
        old(torch.randn(8, 1, 44, 44))
    grown = deepen(old.state_dict(), old_cfg, (1, 2, 3))
    assert len(grown.features) == len(old.features) + 3
    x = torch.randn(4, 1, 44, 44)
    with torch.no_grad():
        torch.testing.assert_close(grown.eval()(x), old.eval()(x))
    grown.train()
    grown(x).logsumexp(1).sum().backward()
    added_scale = grown.features[3].conv2[1].weight  # stage 2's new block: last BN scale
    assert added_scale.grad is not None and added_scale.grad.abs().sum() > 0


def test_deepen_refuses_fewer_blocks_and_plain_cnns() -> None:
    cfg = default_config("rescov", widths=(8, 8, 8), stem=8, cov_channels=4, blocks=(1, 2, 1))
    state = build_model(cfg).state_dict()
    with pytest.raises(ValueError, match="must keep"):
        deepen(state, cfg, (1, 1, 1))
    with pytest.raises(ValueError, match="must keep"):
        deepen(state, cfg, (1, 2))
    plain = default_config("covpool", widths=(8, 8, 8), cov_channels=4)
    with pytest.raises(ValueError, match="only residual"):
        deepen(build_model(plain).state_dict(), plain, (1, 1, 1))
    with pytest.raises(ValueError, match="does not match"):
        deepen(state, replace(cfg, widths=(8, 8, 16)), (1, 2, 1))
