"""The reference code hw2d (PyPI `hw2d`, Numba kernels where numba is installed) run the way its
own `hw2d.run` does, for `cargo xtask validate hw2d` and `cargo xtask bench hw`.

    hw2d_reference.py --n 128 --steps 4000 --every 40 --c1 1 --seed 0

prints one JSON line: `n`, `steps`, `dt`, `wall_s` (the stepping only, after one warm-up step
that compiles the Numba kernels), `ms_per_step`, `numba` (whether the Numba kernels ran) and
`records`: [t, gamma_n, gamma_c, energy, enstrophy] every `--every` steps, from hw2d's own
property functions.
"""

import argparse
import json
import time

import numpy as np
from hw2d import model
from hw2d.model import HW
from hw2d.physical_properties.numpy_properties import (
    get_energy,
    get_enstrophy,
    get_gamma_c,
    get_gamma_n,
)
from hw2d.utils.namespaces import Namespace


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--n", type=int, default=128)
    parser.add_argument("--steps", type=int, default=1000)
    parser.add_argument("--every", type=int, default=40)
    parser.add_argument("--c1", type=float, default=1.0)
    parser.add_argument("--kappa", type=float, default=1.0)
    parser.add_argument("--nu", type=float, default=5e-8)
    parser.add_argument("--dt", type=float, default=0.025)
    parser.add_argument("--k0", type=float, default=0.15)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()

    n, dt = args.n, args.dt
    dx = 2 * np.pi / args.k0 / n
    np.random.seed(args.seed)
    # hw2d.run's "normal" start: n, Ω and φ noise of amplitude 0.01, then φ from Ω.
    plasma = Namespace(
        density=np.random.normal(size=(n, n)) * 0.01,
        omega=np.random.normal(size=(n, n)) * 0.01,
        phi=np.random.normal(size=(n, n)) * 0.01,
        age=0,
    )
    hw = HW(dx=dx, N=3, c1=args.c1, nu=args.nu, k0=args.k0, kappa_coeff=args.kappa,
            TEST_CONSERVATION=False)
    plasma["phi"] = hw.get_phi(plasma.omega, dx)

    def record(p):
        return [
            float(p.age),
            float(get_gamma_n(p.density, p.phi, dx)),
            float(get_gamma_c(p.density, p.phi, args.c1, dx)),
            float(get_energy(p.density, p.phi, dx)),
            float(get_enstrophy(p.density, p.omega, dx)),
        ]

    records = [record(plasma)]
    # The first step compiles the Numba kernels: not timed.
    plasma = hw.rk4_step(plasma, dt=dt, dx=dx)
    wall = 0.0
    for step in range(2, args.steps + 1):
        start = time.perf_counter()
        plasma = hw.rk4_step(plasma, dt=dt, dx=dx)
        wall += time.perf_counter() - start
        if step % args.every == 0:
            records.append(record(plasma))
    timed = max(args.steps - 1, 1)
    print(json.dumps({
        "n": n,
        "steps": args.steps,
        "dt": dt,
        "wall_s": wall,
        "ms_per_step": 1000 * wall / timed,
        "numba": model.periodic_arakawa.__name__ == "periodic_arakawa_stencil",
        "records": records,
    }))


if __name__ == "__main__":
    main()
