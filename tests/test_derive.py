"""bplit.derive: chains of equalities checked by SymPy as they are built.

A right step is accepted for each kind of expression (scalars, matrices, undefined
functions with Derivative and Subs, sums with concrete and symbolic bounds); a wrong step
is rejected with its number, its reason and the difference, and leaves the chain as it
was; numerical steps are marked; the LaTeX is one aligned display carrying the reasons;
and bplit.derive is independent of bplit's NumPy core, while ``import bplit`` does not
import SymPy.
"""

from __future__ import annotations

import re
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
import sympy as sp

import bplit.derive
from bplit.derive import Chain, StepError, check_equal

DERIVE = Path(bplit.derive.__file__)

x, y, z, w, a, b = sp.symbols("x y z w a b")
sigma = sp.Function("sigma")


def test_scalar_steps_are_accepted_and_the_result_is_the_last_rhs():
    s = 1 / (1 + sp.exp(-z))
    chain = (
        Chain(sp.Derivative(s, z))
        .step(sp.exp(-z) / (1 + sp.exp(-z)) ** 2, "quotient rule")
        .step(s * (1 - s), "$1 - s = e^{-z} s$")
    )
    assert [st.why for st in chain.steps] == ["quotient rule", "$1 - s = e^{-z} s$"]
    assert chain.result == s * (1 - s)
    assert all(st.how == "symbolic" for st in chain.steps)


def test_a_wrong_step_names_its_number_reason_and_difference_and_changes_nothing():
    chain = Chain((x + 1) ** 2).step(x**2 + 2 * x + 1, "expand")
    with pytest.raises(StepError) as info:
        chain.step(x**2 + 2 * x, "drop a term")
    err = info.value
    assert err.number == 2 and err.why == "drop a term"
    assert err.difference == 1
    assert "step 2 (drop a term)" in str(err) and "simplifies to 1" in str(err)
    assert len(chain.steps) == 1 and chain.result == x**2 + 2 * x + 1


def test_the_first_step_is_step_1():
    with pytest.raises(StepError, match=r"^step 1 \(wrong\)"):
        Chain(x**2).step(2 * x, "wrong")


def test_a_step_off_by_a_tenth_of_a_percent_is_rejected():
    with pytest.raises(StepError):
        Chain(sp.Derivative(x**3, x)).step(sp.Rational(3003, 1000) * x**2, "power rule")


def test_matrices_are_compared_entry_by_entry():
    W = sp.Matrix(2, 3, sp.symbols("w:6"))
    v = sp.Matrix(3, 1, sp.symbols("v:3"))
    explicit = sp.Matrix([sum(W[i, k] * v[k] for k in range(3)) for i in range(2)])
    chain = Chain(sp.MatMul(W, v)).step(explicit, "definition of the product")
    assert chain.result.shape == (2, 1)
    wrong = explicit.copy()
    wrong[1, 0] += v[0]
    with pytest.raises(StepError) as info:
        chain.step(wrong, "typo")
    assert info.value.difference == sp.Matrix([[0], [-v[0]]])


def test_a_shape_mismatch_is_a_step_error_naming_both_shapes():
    with pytest.raises(StepError, match=r"\(2, 1\).*\(1, 2\)"):
        Chain(sp.Matrix([a, b])).step(sp.Matrix([[a, b]]), "transpose forgotten")


def test_undefined_functions_derivatives_and_subs():
    lhs = sp.Derivative(sigma(w * a + b), w)
    rhs = a * sp.Subs(sp.Derivative(sigma(z), z), z, w * a + b)
    Chain(lhs).step(rhs, "chain rule")
    with pytest.raises(StepError, match="chain rule"):
        Chain(lhs).step(rhs / a, "chain rule")


def test_definitions_in_where_are_substituted_before_comparing():
    delta = sp.Symbol("delta")
    lhs = sp.Derivative(sigma(w * a), w)
    chain = Chain(lhs, where={delta: sp.Subs(sp.Derivative(sigma(z), z), z, w * a)})
    chain.step(delta * a, "definition of $\\delta$")
    assert chain.result == delta * a
    with pytest.raises(StepError):
        chain.step(delta, "forgot $a$")
    # a definition given to one step only
    Chain(lhs).step(delta * a, "local", where={delta: sp.Subs(sp.Derivative(sigma(z), z), z, w * a)})


def test_sums_with_concrete_bounds_are_expanded():
    k = sp.Symbol("k", integer=True)
    v = sp.IndexedBase("v")
    Chain(sp.Sum(v[k], (k, 1, 3))).step(v[1] + v[2] + v[3], "write the sum out")


def test_symbolic_bounds_need_a_numerical_step_which_is_marked():
    n = sp.Symbol("n", integer=True, positive=True)
    j, k = sp.symbols("j k", integer=True)
    W, X = sp.IndexedBase("w"), sp.IndexedBase("x")
    inner = sp.Sum(W[k] * X[k], (k, 1, n))
    lhs = sp.Derivative(inner**2, W[j])
    right = 2 * inner * X[j]
    chain = Chain(lhs).step(right, "chain rule", numeric=True, at={n: 3, j: 2})
    assert chain.steps[0].how == "numeric" and chain.steps[0].points == 5
    assert "numerically, 5 points" in chain.to_latex()
    err = Chain(lhs).fails(1.001 * right, "chain rule", numeric=True, at={n: 3, j: 2})
    assert err.number == 1 and "random points" in str(err)


def test_numerical_steps_give_undefined_functions_bodies():
    # sigma'(z) sigma(z) is the derivative of sigma(z)^2 / 2 for any body
    lhs = sp.Derivative(sigma(z) ** 2 / 2, z)
    Chain(lhs).step(sigma(z) * sp.Derivative(sigma(z), z), "chain rule", numeric=True)
    with pytest.raises(StepError):
        Chain(lhs).step(sp.Derivative(sigma(z), z), "forgot a factor", numeric=True)
    logistic = sp.Lambda(x, 1 / (1 + sp.exp(-x)))
    Chain(sp.Derivative(sigma(z), z)).step(
        sigma(z) * (1 - sigma(z)), "logistic", numeric=True, functions={sigma: logistic}
    )


def test_fails_refuses_a_step_that_follows():
    chain = Chain(x + x)
    with pytest.raises(AssertionError, match="expected to fail"):
        chain.fails(2 * x, "doubling")
    assert chain.steps == []


def test_latex_is_one_aligned_display_with_the_reasons():
    chain = Chain(sp.Derivative(x**2, x), latex=r"\frac{d}{dx} x^2").step(2 * x, "power rule")
    chain.step(x + x, "$2x = x + x$")
    latex = chain._repr_latex_()
    assert latex.startswith("$$\n\\begin{aligned}") and latex.rstrip().endswith("\\end{aligned}\n$$")
    rows = chain.to_latex().splitlines()[1:-1]
    assert rows[0].startswith(r"\frac{d}{dx} x^2 &= 2 x && \text{power rule}")
    assert rows[1].startswith(" &= ") and rows[1].endswith(r"&& 2x = x + x")
    assert rows[0].endswith(" \\\\")


def test_a_reason_must_keep_its_mathematics_between_dollars():
    with pytest.raises(ValueError, match="dollar"):
        Chain(x).step(x, r"uses \sigma")
    with pytest.raises(ValueError, match="unbalanced"):
        Chain(x).step(x, "one $ sign")
    with pytest.raises(TypeError, match="non-empty"):
        Chain(x).step(x, "")


def test_non_sympy_input_is_refused_with_a_clear_error():
    with pytest.raises(TypeError, match="SymPy expression or Matrix"):
        Chain(object())
    with pytest.raises(TypeError, match="rhs must be"):
        Chain(x).step(object(), "why")


def test_step_error_renders_as_latex():
    err = Chain(x**2).fails(2 * x, "wrong")
    assert r"\neq 0" in err._repr_latex_() and "step 1" in err._repr_latex_()


def test_check_equal_is_a_one_step_chain():
    assert len(check_equal(sp.sin(x) ** 2 + sp.cos(x) ** 2, 1, "Pythagoras").steps) == 1


def _run(code: str) -> str:
    result = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code)], capture_output=True, text=True, check=True
    )
    return result.stdout.strip()


def test_derive_stands_alone_without_numpy_or_the_core():
    # derive.py loaded by itself, outside the package: it imports neither NumPy nor any
    # other module of bplit, so a chain never evaluates through the code it checks
    out = _run(
        f"""
        import importlib.util, sys
        spec = importlib.util.spec_from_file_location("derive_alone", {str(DERIVE)!r})
        module = importlib.util.module_from_spec(spec)
        sys.modules["derive_alone"] = module
        spec.loader.exec_module(module)
        print(sorted(m for m in sys.modules if m == "numpy" or m.startswith("bplit")))
        """
    )
    assert out == "[]"
    assert _run("import sys, bplit; print('sympy' in sys.modules)") == "False"


def test_bplit_imports_without_sympy_installed():
    # SymPy hidden from the import system: bplit still imports, bplit.derive says what to install
    out = _run(
        """
        import sys
        class Block:
            def find_spec(self, name, path=None, target=None):
                if name == "sympy" or name.startswith("sympy."):
                    raise ModuleNotFoundError("No module named 'sympy'")
        sys.meta_path.insert(0, Block())
        import bplit
        try:
            import bplit.derive
        except ImportError as e:
            print("ImportError:", e)
        """
    )
    assert out.startswith("ImportError:") and "bplit[derive]" in out


def test_definitions_may_use_one_another_and_sit_inside_derivatives():
    # a defined name inside a Derivative is replaced before differentiating, not held fixed
    L, A, B = sp.symbols("L A B")
    Chain(sp.Derivative(L, w), where={L: A + B, A: w**2, B: w**3}).step(2 * w + 3 * w**2, "power rule")
    z1, z2, S, s = sp.symbols("z1 z2 S s")
    Chain(sp.Derivative(s, z1), where={s: sp.exp(z1) / S, S: sp.exp(z1) + sp.exp(z2)}).step(
        sp.exp(z1) / S - sp.exp(2 * z1) / S**2, "quotient rule"
    )
    with pytest.raises(ValueError, match="cycle"):
        Chain(x, where={a: b + 1, b: a - 1}).step(x, "anything")


def test_a_failed_steps_display_can_name_its_difference():
    err = Chain(x**2).fails(2 * x, "the page's $\\delta^3$", shown=r"\delta^2 - \delta^3")
    latex = err._repr_latex_()
    assert r"&\text{step 1 (}\text{the page's } \delta^3\text{) fails:} \\" in latex
    assert r"= \delta^2 - \delta^3 \neq 0" in latex


def test_the_api_pages_example_runs_and_shows_what_it_renders():
    # book/api.md shows an example and, as static math, what the chain renders: the two
    # must agree, and the wrong step it shows must be refused with the message it prints
    api = (Path(__file__).resolve().parents[1] / "book" / "api.md").read_text()
    section = api.split("## Derivations you can check")[1].split("\n## ")[0]
    code, wrong = re.findall(r"```python\n(.*?)```", section, flags=re.S)[:2]
    shown = re.search(r"\$\$\n(.*?)\n\$\$", section, flags=re.S).group(1)
    scope: dict = {}
    exec(compile(code, "api.md", "exec"), scope)
    assert scope["chain"].to_latex() == shown
    with pytest.raises(StepError) as info:
        exec(compile(wrong, "api.md", "exec"), scope)
    printed = " ".join(line.lstrip("# ").strip() for line in wrong.splitlines()[1:])
    assert printed == f"StepError: {info.value}"


def test_plain_numbers_are_definitions_too():
    Chain(x * y, where={y: 1}).step(x, "$y = 1$")
    with pytest.raises(TypeError, match="mapping"):
        Chain(x, where=[(y, 1)])


def test_a_long_difference_can_be_shown_in_a_checked_shorter_form():
    err = Chain((x + y) ** 2).fails(x**2 + y**2, "forgot the cross term")
    assert err.show(2 * x * y, latex=r"2xy") is err
    assert r"= 2xy \neq 0" in err._repr_latex_()
    with pytest.raises(AssertionError, match="differ by"):
        err.show(x * y)
