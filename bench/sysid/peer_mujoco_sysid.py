"""The peer: MuJoCo's own system identification (mujoco.sysid, PyPI mujoco 4.0.1) fed the same real
Panda trajectory and the same per-joint parameters as tw sysid: armature, damping, frictionloss and an
effort offset per joint, bounds >= 0 (offset free), fitted on the first 70 % of the log and judged on the
last 30 %.  mujoco.sysid is built around rollouts of a controlled model; a log without controls is fed to
it the way its API allows: a ParameterDict and a residual function (effort - mj_inverse over the rows)
handed to mujoco.sysid.optimize (MuJoCo's own least-squares backend, finite-difference Jacobian).  The
arrays are built here by hand (resampled to 1 kHz, qacc by a 51-sample Savitzky-Golay derivative, as
tw replay does by default); tw sysid reads the recorded episode instead.
usage: peer_mujoco_sysid.py LOG.csv MODEL.xml [FIT_STRIDE]   prints one JSON line."""
import json
import sys
import time

import mujoco
import numpy as np
from mujoco import sysid
from scipy.signal import savgol_filter


def load(csv):
    d = np.loadtxt(csv, delimiter=",", skiprows=1)
    t = d[:, 0]
    grid = np.arange(t[0], t[-1], 1e-3)
    cols = np.stack([np.interp(grid, t, d[:, k]) for k in range(1, 22)], axis=1)
    q, dq, tau = cols[:, :7], cols[:, 7:14], cols[:, 14:21]
    qacc = savgol_filter(dq, 51, 2, deriv=1, delta=1e-3, axis=0)
    return q, dq, qacc, tau


def inverse(m, d, q, dq, qacc, rows):
    out = np.empty((len(rows), 7))
    for i, r in enumerate(rows):
        d.qpos[:7], d.qvel[:7], d.qacc[:7] = q[r], dq[r], qacc[r]
        mujoco.mj_inverse(m, d)
        out[i] = d.qfrc_inverse[:7]
    return out


def main():
    csv, model = sys.argv[1], sys.argv[2]
    stride = int(sys.argv[3]) if len(sys.argv) > 3 else 1
    q, dq, qacc, tau = load(csv)
    n = len(q)
    cut = int(0.7 * n)
    fit_rows = np.arange(25, cut, stride)  # away from the derivative's edge
    held = np.arange(cut, n - 25)
    m = mujoco.MjModel.from_xml_path(model)
    d = mujoco.MjData(m)
    dof = [m.jnt_dofadr[mujoco.mj_name2id(m, mujoco.mjtObj.mjOBJ_JOINT, f"joint{j + 1}")] for j in range(7)]
    params = sysid.ParameterDict()
    for name, nom in (("armature", m.dof_armature[dof]), ("damping", m.dof_damping[dof]),
                      ("frictionloss", m.dof_frictionloss[dof])):
        params.add(sysid.Parameter(name, nom.copy(), np.zeros(7), np.full(7, 100.0)))
    params.add(sysid.Parameter("effort_offset", np.zeros(7), np.full(7, -100.0), np.full(7, 100.0)))
    evals = [0]

    def apply(p):
        m.dof_armature[dof] = p["armature"].value
        m.dof_damping[dof] = p["damping"].value
        m.dof_frictionloss[dof] = p["frictionloss"].value

    def residual_fn(x, p):
        xs = np.atleast_2d(x.T).T if x.ndim == 1 else x
        cols = []
        for k in range(xs.shape[1]):
            p.update_from_vector(xs[:, k])
            apply(p)
            evals[0] += 1
            r = tau[fit_rows] - p["effort_offset"].value - inverse(m, d, q, dq, qacc, fit_rows)
            cols.append(r.ravel())
        res = np.stack(cols, axis=1) if x.ndim == 2 else cols[0]
        return [res], None, None

    def rel(p, rows):
        apply(p)
        r = tau[rows] - p["effort_offset"].value - inverse(m, d, q, dq, qacc, rows)
        return float(np.sqrt((r ** 2).sum() / (tau[rows] ** 2).sum()))

    nominal = rel(params, held)
    t0 = time.perf_counter()
    fitted, _ = sysid.optimize(params, residual_fn, optimizer="mujoco", verbose=False, max_iters=30)
    wall = time.perf_counter() - t0
    t1 = time.perf_counter()
    inverse(m, d, q, dq, qacc, np.arange(n))
    one_pass = time.perf_counter() - t1
    out = {"peer": "mujoco.sysid " + mujoco.__version__, "fit_rows": len(fit_rows), "fit_stride": stride,
           "held_back_rows": len(held), "held_back_rel_nominal": nominal, "held_back_rel_fitted": rel(fitted, held),
           "wall_s": wall, "residual_evaluations": evals[0], "one_inverse_pass_s": one_pass,
           "params": {k: fitted[k].value.round(5).tolist() for k in fitted.keys()}}
    print(json.dumps(out))


if __name__ == "__main__":
    main()
