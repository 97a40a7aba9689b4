"""SPlisHSPlasH's DFSPH (pysplishsplash) in Flowscope's `hydrostatic-tank`: does it hold water at
rest? The comparison for DFSPH's hydrostatic-tank gate in docs/VALIDATION.md.

usage: splishsplash_tank.py [--n 24] [--viscosity 1e-4] [--max-error 0.1] [--until 1.0]

Water 0.4 m deep in a tank 0.5 m wide, n particles over the depth (spacing 0.4/n, particle
radius half of it), at rest on SPlisHSPlasH's square lattice, walls as volume maps of the tank's
box (its 2D example's boundary handling), DFSPH with its example's settings otherwise (CFL
factor 1, time step at most 5 ms, divergence solver on) and standard viscosity. Prints one JSON
line every 0.1 s: {"t", "particles", "median_speed", "p99_speed", "max_speed", "top"} (top: the
highest particle, m).

Run with the venv `cargo xtask bench` makes, and the wheel's libGLdispatch clash worked around:
  LD_PRELOAD=/usr/lib/x86_64-linux-gnu/libGLdispatch.so.0 target/bench-venv/bin/python \
      tests/bench/splishsplash_tank.py
"""

import argparse
import json
import math
import os
import sys
import tempfile

import pysplishsplash as sph

WIDTH, HEIGHT, DEPTH, G = 0.5, 0.6, 0.4, 9.81


def scene(n: int, viscosity: float, max_error: float, models: str) -> dict:
    radius = DEPTH / n / 2
    return {
        "Configuration": {
            "pause": False, "sim2D": True, "particleRadius": radius, "simulationMethod": 4,
            "gravitation": [0, -G, 0], "cflMethod": 1, "cflFactor": 1.0,
            "cflMaxTimeStepSize": 0.005, "boundaryHandlingMethod": 2,
            "enableVTKExport": False, "enablePartioExport": False,
            "DFSPH": {"minIterations": 2, "maxIterations": 100, "maxError": max_error,
                      "maxIterationsV": 100, "maxErrorV": 0.1, "enableDivergenceSolver": True},
        },
        "Materials": [{"id": "Fluid", "density0": 1000, "viscosityMethod": 1,
                       "Standard viscosity": {"viscosity": viscosity}}],
        "RigidBodies": [{
            "geometryFile": os.path.join(models, "UnitBox.obj"),
            "translation": [WIDTH / 2, HEIGHT / 2, 0], "scale": [WIDTH, HEIGHT, 1],
            "isDynamic": False, "isWall": True, "mapInvert": True, "mapThickness": 0.0,
            "mapResolution": [40, 40, 20],
        }],
        "FluidBlocks": [{"denseMode": 0, "start": [0.0, 0.0, -1], "end": [WIDTH, DEPTH, 1],
                         "translation": [radius, radius, 0.0], "scale": [1, 1, 1]}],
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--n", type=int, default=24, help="particles over the depth")
    parser.add_argument("--viscosity", type=float, default=1e-4, help="m²/s")
    parser.add_argument("--max-error", type=float, default=0.1,
                        help="DFSPH's average density error, percent")
    parser.add_argument("--until", type=float, default=1.0, help="simulated seconds")
    args = parser.parse_args()
    models = os.path.join(os.path.dirname(sys.executable), "data", "models")
    with tempfile.TemporaryDirectory() as folder:
        path = os.path.join(folder, "tank.json")
        with open(path, "w") as f:
            json.dump(scene(args.n, args.viscosity, args.max_error, models), f)
        base = sph.Exec.SimulatorBase()
        base.init(useGui=False, outputDir=folder, sceneFile=path)
        state = {"next": 0.1}

        def after_step() -> None:
            now = float(sph.TimeManager.getCurrent().getTime())
            if now + 1e-9 < state["next"]:
                return
            state["next"] += 0.1
            model = sph.Simulation.getCurrent().getFluidModel(0)
            count = model.numActiveParticles()
            speeds = sorted(math.hypot(*model.getVelocity(i)[:2]) for i in range(count))
            top = max(float(model.getPosition(i)[1]) for i in range(count))
            print(json.dumps({"t": round(now, 4), "particles": count,
                              "median_speed": speeds[count // 2],
                              "p99_speed": speeds[count * 99 // 100],
                              "max_speed": speeds[-1], "top": top}), flush=True)
            if now >= args.until:
                base.setValueFloat(base.STOP_AT, now)

        base.setTimeStepCB(after_step)
        base.setValueFloat(base.STOP_AT, args.until + 0.2)
        base.run()
    # The library's teardown at exit can crash after the run; the lines are out first.
    os._exit(0)


if __name__ == "__main__":
    main()
