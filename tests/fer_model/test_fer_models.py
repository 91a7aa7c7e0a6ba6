import pytest
import torch

from fer_model.models import (
    MODEL_NAMES,
    ModelConfig,
    build_model,
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
