"""The "analysis in xarray" cells of each claim notebook (read by ``build.py``).

Each study's cells recompute, with plain xarray operations on the stored dataset
(selections, reductions over ``feature`` and ``sample``, medians over seeds), numbers
its check uses, and compare them with the check's own (``verdict.values``): a
notebook whose xarray analysis disagrees with the check fails when executed.
The cells may use ``ds`` (the result), ``verdict`` (the check's outcome) and
``study``; :data:`PREAMBLE` defines ``agrees``, ``near_step``, ``scenario`` and ``last``.
"""

PREAMBLE = '''\
{imports}


def agrees(name, here, checked, rtol=1e-12):
    """Print a number computed here with xarray beside the check's; stop if they differ."""
    here, checked = np.asarray(here, dtype=float), np.asarray(checked, dtype=float)
    same = here.shape == checked.shape and np.allclose(here, checked, rtol=rtol, atol=0.0,
                                                       equal_nan=True)
    print(f"{name}: xarray {np.array2string(here, precision=6)} | check "
          f"{np.array2string(checked, precision=6)}{'' if same else '  <- DIFFERENT'}")
    assert same, name


def near_step(t):
    """Index of the checkpoint nearest to step t on a log scale."""
    return int(abs(np.log(ds["step"].clip(min=0.5)) - np.log(t)).argmin("step"))


scenario = tomllib.loads(ds.attrs["scenario"])
last = ds.isel(step=-1)  # every variable at the last checkpoint T'''



def preamble(cells) -> str:
    """:data:`PREAMBLE` with the imports the study's ``cells`` use (no unused import)."""
    code = "\n".join(c for _, c in cells)
    lines = ["import tomllib", "", "import numpy as np"]
    if "xr." in code:
        lines.append("import xarray as xr")
    if "sigmoid" in code:
        lines += ["", "from logsim.metrics import sigmoid"]
    return PREAMBLE.replace("{imports}", "\n".join(lines))


#: Per study (its key): a list of (Markdown, code) cells.
CELLS: dict[str, list[tuple[str, str]]] = {}

CELLS["error_signal"] = [
    ("The logits of every training point at the last checkpoint are one `xr.dot` over "
     "`feature`; the error signal p̂ − y is then an array over `soft`, `seed` and `sample`, "
     "and the finite difference of logsim's loss is taken on the same array.",
     '''\
from logsim import losses
from logsim.studies.error_signal import FD_STEP

z = xr.dot(ds["x_train"], last["weights"], dim="feature")  # (seed, sample, soft)
t = ds["targets"]
signal = xr.apply_ufunc(sigmoid, z) - t  # p̂ − y


def loss(z):
    return xr.apply_ufunc(lambda a, b: losses.value("logistic", a, b), z, t)


fd = (loss(z + FD_STEP) - loss(z - FD_STEP)) / (2 * FD_STEP)
big = abs(signal) > 1e-4  # relative errors mean nothing where p̂ − y is 0
rel = (abs(fd - signal) / abs(signal)).where(big)
print(rel.max(["seed", "sample"]).to_series().rename("largest relative error"))
# a finite difference divides round-off of the logits by 2h: three digits are meaningful
agrees("largest relative error of the finite difference", rel.max(),
       verdict.values["fd_rel"], rtol=1e-3)
agrees("points compared", big.sum(), verdict.values["points"])'''),
    ("One stored SGD step replayed by hand: the sample drawn at step 0 (from the seed, as "
     "the kernel draws it) moves w by −η (p̂ᵢ − yᵢ) xᵢ, and nothing else.",
     '''\
from logsim.studies.error_signal import batch_indices

eta = scenario["optimizer"]["learning_rate"]
cell = ds.sel(soft=False, seed=0)
w0, w1 = cell["weights"].sel(step=0), cell["weights"].sel(step=1)
i = int(batch_indices(0, ds.sizes["sample"], 1, 1)[0, 0])
x_i, y_i = cell["x_train"].isel(sample=i), cell["targets"].isel(sample=i)
replayed = w0 - eta * (sigmoid(float(xr.dot(x_i, w0))) - y_i) * x_i
residual = float(np.linalg.norm(replayed - w1) / np.linalg.norm(w1 - w0))
print(f"sample {i}: |replayed − stored| / |step| = {residual:.1e}")
assert residual <= verdict.values["update_rel"]  # the check's largest over every step'''),
]

CELLS["entropy_floor"] = [
    ("The gap to the floor is the stored training loss minus the stored entropy floor "
     "(broadcast over `step`); its lowest value over every cell and checkpoint must not be "
     "below 0, and its median over seeds at T is the KL the model could not remove.",
     '''\
gap = ds["train_loss"] - ds["entropy_floor"]  # (soft, smoothing, seed, step)
agrees("lowest train loss − H(y), every cell and step", gap.min(),
       verdict.values["below_floor"])
final = gap.isel(step=-1).median("seed")  # (soft, smoothing)
print(final.to_pandas().rename_axis(index="soft", columns="smoothing"))
agrees("soft targets p: final gap", final.sel(soft=True, smoothing=0.0),
       verdict.values["soft_gap"])
agrees("hard labels: final gap per eps", final.sel(soft=False),
       verdict.values["hard_gap"])
agrees("smoothed soft targets: final gap per eps",
       final.sel(soft=True).where(ds["smoothing"] > 0, drop=True),
       verdict.values["soft_smoothed_gap"])'''),
    ("The same gap from the weights alone: KL(t ‖ sigmoid(w·x)), averaged over the training "
     "points, with ln p = −softplus(−z) and 0 ln 0 = 0. It equals train loss − H(y) to "
     "round-off at every checkpoint (round-off differs with the order of the sums, so "
     "it is held to the check's tolerance, not to the check's digits).",
     '''\
z = xr.dot(ds["weights"], ds["x_train"], dim="feature")  # (..., step, sample)
t = ds["targets"]
with np.errstate(divide="ignore", invalid="ignore"):
    kl = (t * (np.log(t) + np.logaddexp(0, -z))).where(t > 0, 0.0) \\
        + ((1 - t) * (np.log(1 - t) + np.logaddexp(0, z))).where(t < 1, 0.0)
kl = kl.mean("sample")
identity = float(abs(gap - kl).max())
print(f"largest |gap − mean KL from the weights|: {identity:.1e} (the check's: "
      f"{verdict.values['identity']:.1e}, allowed {verdict.limits['identity_tol']:g})")
assert identity <= verdict.limits["identity_tol"]'''),
]

CELLS["label_smoothing"] = [
    ("Growth of the mean test |logit| over the last decade: its value at T over its value "
     "at the checkpoint nearest T/10, median over seeds. With eps = 0 it keeps growing "
     "where the training sets are separable; with eps > 0 it has stopped.",
     '''\
k = near_step(int(ds["step"][-1]) / 10)
growth = (last["test_mean_abs_logit"] / ds["test_mean_abs_logit"].isel(step=k)).median("seed")
print(growth.to_pandas())
separable = ds["separable"].sel(smoothing=0.0).mean("seed")  # share of seeds, per n_train
agrees("eps = 0, separable training sets: growth",
       growth.sel(smoothing=0.0).where(separable == 1).max(), verdict.values["growth_eps0"])
agrees("eps > 0: largest growth", growth.where(ds["smoothing"] > 0).max(),
       verdict.values["growth_smoothed"])'''),
    ("The test NLL against eps = 0 on the same data draw (same seed): a paired difference, "
     "then its median over seeds; and on how many seeds smoothing lowered the NLL.",
     '''\
d_nll = last["test_nll"] - last["test_nll"].sel(smoothing=0.0)  # paired by seed
smoothed = ds["smoothing"] > 0
small = int(separable["n_train"].where(separable == 1, drop=True)[0])
large = int(ds["n_train"].max())
agrees(f"n_train = {small}: test NLL at eps = 0",
       last["test_nll"].sel(n_train=small, smoothing=0.0).median("seed"),
       verdict.values["small_nll0"])
agrees(f"n_train = {small}: median change per eps",
       d_nll.sel(n_train=small).where(smoothed, drop=True).median("seed"),
       verdict.values["small_d_nll"])
agrees(f"n_train = {large}: median change per eps",
       d_nll.sel(n_train=large).where(smoothed, drop=True).median("seed"),
       verdict.values["large_d_nll"])
lower = (d_nll < 0).sum("seed").sel(n_train=small).where(smoothed, drop=True)
agrees(f"n_train = {small}: fewest seeds on which smoothing lowers the NLL", lower.min(),
       verdict.values["small_helps_min"])'''),
]

CELLS["noisy_labels"] = [
    ("Clean-test accuracy after the last step, median over seeds, for every loss, "
     "transition, separation and pair of flip rates; the accuracy lost against the "
     "noise-free plain model; the worst of it where det T = 1 − ρ₊ − ρ₋ ≥ 0.4.",
     '''\
acc = last["test_accuracy"].median("seed")
ece = last["test_ece"].median("seed")
noise_free = acc.sel(loss="logistic", transition="true", rho_pos=0.0, rho_neg=0.0)
det = 1 - ds["rho_pos"] - ds["rho_neg"]
moderate = (det < 1 - 1e-12) & (det >= verdict.values["moderate_det"] - 1e-12)
drop = (noise_free - acc).where(moderate)
print(drop.max(["separation", "rho_pos", "rho_neg"]).to_pandas()
      .rename_axis(index="loss", columns="transition"))
for loss, tr, key in (("forward", "true", "forward"), ("logistic", "true", "plain"),
                      ("backward", "true", "backward"), ("forward", "anchor", "anchor")):
    agrees(f"{key}: worst accuracy lost", drop.sel(loss=loss, transition=tr).max(),
           verdict.values[f"{key}_drop"])
agrees("forward (true T): worst ECE",
       ece.sel(loss="forward", transition="true").where(moderate).max(),
       verdict.values["forward_ece"])
agrees("plain: worst ECE", ece.sel(loss="logistic", transition="true").where(moderate).max(),
       verdict.values["plain_ece"])'''),
    ("The anchor-point estimates of the flip rates are stored per cell "
     "(`transition_rho_pos`, `transition_rho_neg`); their error against the true rates, "
     "median over seeds, mean absolute over the moderate cells.",
     '''\
est = last.sel(loss="forward", transition="anchor")
errors = xr.concat([(est["transition_rho_pos"] - est["rho_pos"]).median("seed"),
                    (est["transition_rho_neg"] - est["rho_neg"]).median("seed")], "rate")
agrees("anchor-point T: mean absolute error",
       abs(errors).where(moderate).mean(), verdict.values["anchor_error"])'''),
]

CELLS["hinge_vs_ce"] = [
    ("Which training points still push the weights at T: hinge's gradient is nonzero "
     "where the margin s·w·x is below 1. From the weights with `xr.dot`, and as stored by "
     "the sweep (`active_fraction`), median over seeds on the overlapping classes.",
     '''\
sep = verdict.values["overlap_separation"]
cell = ds.sel(separation=sep, loss="hinge")
s = np.sign(cell["targets"] - 0.5)
margin = s * xr.dot(cell["x_train"], cell["weights"].isel(step=-1), dim="feature")
active = (margin < 1).mean("sample")
agrees("hinge: fraction of points inside the margin at T", active.median("seed"),
       verdict.values["hinge_active"])
agrees("the same, stored by the sweep (active_fraction)",
       cell["active_fraction"].isel(step=-1).median("seed"), verdict.values["hinge_active"])'''),
    ("Calibration on the evaluation half of the test set: the true calibration error "
     "mean |sigmoid(w·x) − P(y=1|x)| against the stored posterior `p_test`, and the Platt "
     "slope fitted on the other half (stored), medians over seeds.",
     '''\
h = ds.sizes["test_sample"] // 2
held = ds.isel(test_sample=slice(h, None)).sel(separation=sep)
z = xr.dot(held["x_test"], held["weights"].isel(step=-1), dim="feature")
tce = abs(xr.apply_ufunc(sigmoid, z) - held["p_test"]).mean("test_sample").median("seed")
print(tce.to_series().rename("true calibration error"))
agrees("logistic: true calibration error", tce.sel(loss="logistic"),
       verdict.values["logistic_tce"])
agrees("hinge: true calibration error", tce.sel(loss="hinge"), verdict.values["hinge_tce"])
slope = last["platt_slope"].sel(separation=sep).median("seed")
agrees("logistic: Platt slope", slope.sel(loss="logistic"), verdict.values["logistic_slope"])
agrees("hinge: Platt slope", slope.sel(loss="hinge"), verdict.values["hinge_slope"])'''),
]

CELLS["calibration"] = [
    ("The true calibration error after the last step, median over seeds, for every loss, "
     "dimension and training-set size; and the slope of log(TCE) against log(n_train) "
     "for logistic regression (theory: −1/2).",
     '''\
tce = last["test_true_calibration_error"].median("seed")  # (loss, dim, n_train)
print(tce.sel(loss="logistic").to_pandas())
n = ds["n_train"].astype(float)
for d in ds["dim"].values:
    v = verdict.values["dims"][str(d)]
    logistic = tce.sel(loss="logistic", dim=d)
    agrees(f"d = {d}: logistic TCE at n = {int(n[0])}, {int(n[-1])}",
           logistic.isel(n_train=[0, -1]), [v["tce_first"], v["tce_last"]])
    slope = np.polyfit(np.log(n), np.log(logistic), 1)[0]
    agrees(f"d = {d}: log-log slope in n_train", slope, v["slope"])
    agrees(f"d = {d}: hinge, exponential TCE at the largest n",
           tce.sel(dim=d, loss=["hinge", "exponential"]).isel(n_train=-1),
           [v["hinge_tce"], v["exponential_tce"]])
    agrees(f"d = {d}: accuracy at the largest n",
           last["test_accuracy"].median("seed").sel(dim=d).isel(n_train=-1),
           v["accuracy"])'''),
]

_IMPLICIT_BIAS = [
    ("GD on the clean, separable data: the median over seeds of the stored direction gap "
     "‖w/‖w‖ − ŵ/‖ŵ‖‖ at t = 10³, 10⁴, …, times ln t (levels off if the gap closes like "
     "1/ln t); the slope of the loss in log–log; the growth of ‖w‖ per unit of ln t "
     "against ‖ŵ‖ = 1/(SVM margin).",
     '''\
clean = ds.sel({k: v for k, v in {"noise_rate": 0.0, "method": "gd"}.items() if k in ds.dims})
decades = verdict.values["decades"]
T = int(ds["step"][-1])
T10 = int(ds["step"][abs(ds["step"] - T / 10).argmin("step")])
agrees("‖ŵ‖", (1 / clean["svm_margin"]).median(), verdict.values["w_hat_norm"])
for loss in ("logistic", "exponential"):
    c = clean.sel(loss=loss).median("seed")
    gap = c["direction_gap"].sel(step=decades)
    agrees(f"{loss}: direction gap at t = {decades}", gap, verdict.values[loss]["gap"])
    agrees(f"{loss}: gap × ln t", gap * np.log(gap["step"]), verdict.values[loss]["gap_ln"])
    agrees(f"{loss}: margin gap", c["margin_gap"].sel(step=decades),
           verdict.values[loss]["margin_gap"])
    loss_T, loss_T10 = c["train_loss"].sel(step=T), c["train_loss"].sel(step=T10)
    agrees(f"{loss}: log-log slope of the loss over the last decade",
           np.log(loss_T / loss_T10) / np.log(T / T10), verdict.values[loss]["loss_slope"])
    norm_T, norm_T10 = c["weight_norm"].sel(step=T), c["weight_norm"].sel(step=T10)
    agrees(f"{loss}: d‖w‖ / d ln t", (norm_T - norm_T10) / np.log(T / T10),
           verdict.values[loss]["norm_rate"])'''),
    ("With label noise the training labels are not separable (stored per training set as "
     "`separable`), and w converges to a finite point: how far it moved over the last "
     "decade, relative to its length.",
     '''\
noisy = ds.sel({k: v for k, v in {"noise_rate": verdict.values["noise_rate"],
                                  "method": "gd"}.items() if k in ds.dims})
for loss in ("logistic", "exponential"):
    c = noisy.sel(loss=loss)
    w_T, w_T10 = c["weights"].sel(step=T), c["weights"].sel(step=T10)
    change = np.sqrt(((w_T - w_T10) ** 2).sum("feature") / (w_T ** 2).sum("feature"))
    agrees(f"noisy {loss}: seeds not separable", (~c["separable"].astype(bool)).sum(),
           verdict.values[f"noisy_{loss}"]["nonseparable"])
    agrees(f"noisy {loss}: largest relative move over the last decade", change.max(),
           verdict.values[f"noisy_{loss}"]["max_change"], rtol=1e-6)'''),
]
CELLS["implicit_bias"] = _IMPLICIT_BIAS
CELLS["implicit_bias_nondegenerate"] = _IMPLICIT_BIAS

CELLS["breast_cancer"] = [
    ("The held-out points of each split are stored as the test set; the first part is the "
     "validation set, the rest the test set. Logits of every cell, split and checkpoint "
     "on them are one `xr.dot`; the mean |logit| at T over that near T/10, median over "
     "splits, says whether a minimiser exists.",
     '''\
from logsim.studies.breast_cancer import parts

validation, test = parts(ds)
z = xr.dot(ds["weights"], ds["x_test"].isel(test_sample=test), dim="feature")
abs_logit = abs(z).mean("test_sample")  # (noise_rate, smoothing, seed, step)
k = near_step(int(ds["step"][-1]) / 10)
growth = (abs_logit.isel(step=-1) / abs_logit.isel(step=k)).median("seed")
print(growth.to_pandas())
clean = {"noise_rate": 0.0, "smoothing": 0.0}
agrees("clean labels, eps = 0: growth over the last decade", growth.sel(clean),
       verdict.values["growth_eps0"])
agrees("clean labels, eps = 0: mean test |logit| at T",
       abs_logit.isel(step=-1).sel(clean).median("seed"), verdict.values["abs_logit_eps0"])
agrees("eps > 0: largest growth", growth.where(ds["smoothing"] > 0).max(),
       verdict.values["growth_smoothed"])
agrees("share of splits separable (clean, eps = 0)",
       ds["separable"].sel(clean).mean("seed"), verdict.values["separable"])'''),
    ("Early stopping: the checkpoint of least NLL on the validation points, per split "
     "(clean labels, eps = 0), from the logits and labels alone.",
     '''\
from logsim.metrics import nll_from_logits

val = ds.isel(test_sample=validation).sel(clean)
zv = xr.dot(val["weights"], val["x_test"], dim="feature")
nll = xr.apply_ufunc(nll_from_logits, zv, val["y_test"].broadcast_like(zv),
                     input_core_dims=[["test_sample"], ["test_sample"]])
best = ds["step"][nll.argmin("step")]
print(best.to_series().rename("step picked on validation"))
agrees("step picked per split", best, verdict.values["best_steps"])'''),
]

_MARGINS = '''\
s = 2 * ds["clean_labels"] - 1  # labels ±1
best = {"l1": ds["svm_margin_l1"], "l2": ds["svm_margin"], "linf": ds["svm_margin_linf"]}


def relative_gaps(w):
    """(γ*_p − γ_p(w)) / γ*_p with γ_p(w) = min_i s_i x_i·w / ‖w‖_p, for p = 1, 2, ∞."""
    margin = (s * xr.dot(ds["x_train"], w, dim="feature")).min("sample")
    norms = {"l1": abs(w).sum("feature"), "l2": np.sqrt((w ** 2).sum("feature")),
             "linf": abs(w).max("feature")}
    return {p: (best[p] - margin / norms[p]) / best[p] for p in best}'''

_REFERENCES = (
    "The three max-margin references are stored per training set (`svm_margin`, "
    "`svm_margin_l1`, `svm_margin_linf` and their directions `w_hat*`, solved as linear "
    "programmes for L1 and L∞). The angles between the directions say how far apart the "
    "three geometries' answers are on this data.",
    _MARGINS + '''

w_hat = {"l1": ds["w_hat_l1"], "l2": ds["w_hat"], "linf": ds["w_hat_linf"]}


def angle(a, b):
    cos = xr.dot(a, b, dim="feature") / np.sqrt((a ** 2).sum("feature") * (b ** 2).sum("feature"))
    return np.degrees(np.arccos(cos.clip(-1, 1)))


for p, q in (("l1", "l2"), ("l2", "linf"), ("l1", "linf")):
    agrees(f"angle between the {p} and {q} directions (degrees)",
           angle(w_hat[p], w_hat[q]).squeeze(), verdict.values["separation"][f"{p}_{q}"],
           rtol=1e-9)
for p in best:
    agrees(f"{p} max margin", best[p].squeeze(), verdict.values["margins"][p])''')

CELLS["optimiser_margin"] = [
    _REFERENCES,
    ("Each trajectory's normalised margin in the three geometries at the last step, "
     "recomputed from the stored weights and training set with one `xr.dot` and a `min` "
     "over `sample`. The table is the relative gap (γ*_p − γ_p(w)) / γ*_p per optimiser "
     "and schedule: each optimiser's own geometry has the smallest. The gaps the check "
     "read from the stored `margin_gap*` agree (the comparison is of the margins "
     "themselves, since a gap of 1e-14 is rounding-sized).",
     '''\
gaps = relative_gaps(last["weights"])
table = xr.concat([gaps[p] for p in best], dim="geometry").assign_coords(geometry=list(best))
print(table.squeeze("seed").to_series().unstack("geometry").to_string(float_format="%.2e"))
for key, cell in verdict.values["cells"].items():
    method, schedule = key.split("/")
    for p in best:
        here = (1 - gaps[p]).sel({"method": method, "schedule": schedule}).squeeze()
        agrees(f"{key}: γ_{p}(w) / γ*_{p}", here, 1 - cell["gap"][p], rtol=1e-9)'''),
]

CELLS["optimiser_margin_adam"] = [
    _REFERENCES,
    ("Adam's relative margin gaps at the last step and near T/10 for every ε, from the "
     "stored weights: with ε = 0 and a decaying step the L∞ gap is the smallest; with "
     "ε > 0 the L2 gap is, and keeps falling.",
     '''\
k10 = near_step(int(ds["step"][-1]) / 10)
at_T, at_T10 = relative_gaps(last["weights"]), relative_gaps(ds["weights"].isel(step=k10))
print(xr.concat([at_T[p] for p in best], dim="geometry").assign_coords(geometry=list(best))
      .squeeze("seed").to_series().unstack("geometry").to_string(float_format="%.2e"))
eps0 = {"eps": 0.0, "schedule": "inverse_sqrt"}
for p in best:
    agrees(f"ε = 0, η/√(1+t): γ_{p}(w) / γ*_{p}", (1 - at_T[p]).sel(eps0).squeeze(),
           1 - verdict.values["eps0"]["gap"][p], rtol=1e-9)
for key, cell in verdict.values["eps"].items():
    eps, schedule = key.split("/")
    where = {"eps": float(eps), "schedule": schedule}
    for p in best:
        agrees(f"ε = {eps}, {schedule}: γ_{p}(w) / γ*_{p} at T",
               (1 - at_T[p]).sel(where).squeeze(), 1 - cell["gap"][p], rtol=1e-9)
        agrees(f"ε = {eps}, {schedule}: γ_{p}(w) / γ*_{p} at T/10",
               (1 - at_T10[p]).sel(where).squeeze(), 1 - cell["gap_T10"][p], rtol=1e-9)'''),
]

CELLS["optimiser_margin_weight_decay"] = [
    _REFERENCES,
    ("For each weight decay λ: how far w moved over the last decade (it has converged to "
     "the regularised solution w_λ), its norm, its relative L2 margin gap and its angle "
     "to the L2 max-margin direction: both shrink as λ → 0.",
     '''\
k10 = near_step(int(ds["step"][-1]) / 10)
w_T, w_T10 = last["weights"], ds["weights"].isel(step=k10)
norm = np.sqrt((w_T ** 2).sum("feature"))
moved = np.sqrt(((w_T - w_T10) ** 2).sum("feature")) / norm
cos = xr.dot(w_T, ds["w_hat"], dim="feature") / (norm * np.sqrt((ds["w_hat"] ** 2).sum("feature")))
angle_l2 = np.degrees(np.arccos(cos.clip(-1, 1)))
gap_l2 = relative_gaps(w_T)["l2"]
for lam, d in verdict.values["decay"].items():
    where = {"weight_decay": float(lam)}
    agrees(f"λ = {lam}: ‖w‖", norm.sel(where).squeeze(), d["norm"], rtol=1e-12)
    agrees(f"λ = {lam}: moved over the last decade", moved.sel(where).squeeze(), d["moved"],
           rtol=1e-6)
    agrees(f"λ = {lam}: γ_2(w) / γ*_2 (1 − the relative L2 margin gap)",
           (1 - gap_l2).sel(where).squeeze(), 1 - d["gap_l2"], rtol=1e-9)
    agrees(f"λ = {lam}: angle to the L2 direction (degrees)", angle_l2.sel(where).squeeze(),
           d["angle_l2"], rtol=1e-6)'''),
]

CELLS["optimiser_margin_large_steps"] = [
    ("The stored `log_train_loss` (ln L, measured without underflow) of each constant step "
     "size η: how often it rose between checkpoints, its peak, the late rate η T L(T) "
     "(its log) and the log–log slope over the last decade.",
     '''\
log_loss = ds["log_train_loss"].squeeze("seed")
T = int(ds["step"][-1])
k10 = near_step(T / 10)
rises = (log_loss.diff("step") > 1e-12).sum("step")
ln_L_T, ln_L_T10 = log_loss.isel(step=-1, drop=True), log_loss.isel(step=k10, drop=True)
late = ln_L_T + np.log(ds["learning_rate"] * T)
slope = (ln_L_T - ln_L_T10) / np.log(T / float(ds["step"][k10]))
print(xr.Dataset({"rises": rises, "peak": log_loss.max("step"), "ln(eta T L(T))": late,
                  "slope": slope}).to_dataframe().to_string())
for eta, s in verdict.values["steps"].items():
    where = {"learning_rate": float(eta)}
    agrees(f"η = {eta}: rises of the loss", rises.sel(where), s["rises"])
    agrees(f"η = {eta}: peak of ln L", log_loss.max("step").sel(where), s["peak"])
    agrees(f"η = {eta}: ln(η T L(T))", late.sel(where), s["late"], rtol=1e-12)
    agrees(f"η = {eta}: slope over the last decade", slope.sel(where), s["slope"], rtol=1e-9)'''),
]
