import pytest

from invigilation.env import EnvError, env_bool, env_int, env_list, env_str


def test_missing_values_fall_back_to_defaults(monkeypatch):
    monkeypatch.delenv("X_TEST", raising=False)
    assert env_str("X_TEST", "d") == "d"
    assert env_bool("X_TEST", True) is True
    assert env_int("X_TEST", 7) == 7
    assert env_list("X_TEST", ["a"]) == ["a"]


@pytest.mark.parametrize("raw, expected", [("1", True), ("yes", True), ("Off", False), ("", False)])
def test_booleans(monkeypatch, raw, expected):
    monkeypatch.setenv("X_TEST", raw)
    assert env_bool("X_TEST") is expected


def test_lists_are_split_on_commas(monkeypatch):
    monkeypatch.setenv("X_TEST", "a.example, b.example,,")
    assert env_list("X_TEST") == ["a.example", "b.example"]


@pytest.mark.parametrize("reader", [env_bool, lambda name: env_int(name, 0)])
def test_bad_values_say_which_variable(monkeypatch, reader):
    monkeypatch.setenv("X_TEST", "maybe")
    with pytest.raises(EnvError, match="X_TEST"):
        reader("X_TEST")
