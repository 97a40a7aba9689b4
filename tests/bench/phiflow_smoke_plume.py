"""PhiFlow's smoke plume, the reference for `cargo xtask bench grid`.

The setup of PhiFlow's smoke demo, matching Flowscope's `smoke-plume` defaults: a 100 x 100 box
with closed walls, smoke inflow 0.2 per step in a sphere at (50, 9.5) of radius 5, buoyancy 0.1,
MacCormack smoke advection, semi-Lagrangian velocity advection, dt = 1, pressure by conjugate
gradients to 1e-5 (relative and absolute), warm-started, told the closed box has a
constant null space (rank_deficiency=1). PhiFlow runs on its numpy backend.

Usage: python phiflow_smoke_plume.py N WARMUP STEPS   ->  prints {"n", "ms_per_step", ...} as JSON
"""
import json
import sys
import time

from phi.flow import (Box, CenteredGrid, Solve, Sphere, StaggeredGrid, advect, extrapolation,
                      fluid, math, resample)


def main():
    n, warmup, steps = (int(a) for a in sys.argv[1:4])
    # f64 like Flowscope's CPU reference; in f32 plain CG stalls above a 1e-5 residual.
    math.set_global_precision(64)
    domain = dict(x=n, y=n, bounds=Box(x=100, y=100))
    velocity = StaggeredGrid(0, extrapolation.ZERO, **domain)
    smoke = CenteredGrid(0, extrapolation.BOUNDARY, **domain)
    inflow = 0.2 * resample(Sphere(x=50, y=9.5, radius=5), to=smoke, soft=True)
    pressure = None

    def step(velocity, smoke, pressure, dt=1.0):
        smoke = advect.mac_cormack(smoke, velocity, dt) + inflow
        buoyancy = resample(smoke * (0, 0.1), to=velocity)
        velocity = advect.semi_lagrangian(velocity, velocity, dt) + buoyancy * dt
        velocity, pressure = fluid.make_incompressible(velocity, (), Solve('CG', 1e-5, 1e-5, max_iterations=20000, rank_deficiency=1, x0=pressure))
        return velocity, smoke, pressure

    for _ in range(warmup):
        velocity, smoke, pressure = step(velocity, smoke, pressure)
    started = time.perf_counter()
    for _ in range(steps):
        velocity, smoke, pressure = step(velocity, smoke, pressure)
    elapsed = time.perf_counter() - started
    print(json.dumps({"n": n, "steps": steps, "ms_per_step": 1000.0 * elapsed / steps}))


if __name__ == "__main__":
    main()
