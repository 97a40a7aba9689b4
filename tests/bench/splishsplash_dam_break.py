"""SPlisHSPlasH (pysplishsplash) on a 2D dam break comparable to Flowscope's `dam-break` case,
for `cargo xtask bench sph`: a water column a wide and 2a tall (a = 0.05715 m) in a tank 6a wide,
`n` particles across the column (particle spacing a/n), walls as Akinci boundary particles, the
solver's own CFL time step. Prints JSON with ms/step and the particle count.

usage: splishsplash_dam_break.py <wcsph|dfsph> <n> <warm-up steps> <timed steps>

The run stops after the timed steps (a time-step callback counts them and stops the clock).

The wheel's bundled libGLdispatch clashes with the system's libGLX: run with
LD_PRELOAD=/usr/lib/x86_64-linux-gnu/libGLdispatch.so.0 (cargo xtask does).
"""

import json
import os
import sys
import tempfile
import time

import pysplishsplash as sph

A = 0.05715


def scene(method: str, n: int, models: str) -> dict:
    radius = A / n / 2
    return {
        "Configuration": {
            "pause": False,
            "sim2D": True,
            "particleRadius": radius,
            "simulationMethod": 0 if method == "wcsph" else 4,
            "gravitation": [0, -9.81, 0],
            "cflMethod": 1,
            "cflFactor": 0.5,
            "cflMaxTimeStepSize": 0.005,
            "boundaryHandlingMethod": 0,
            "enableVTKExport": False,
            "enablePartioExport": False,
            "DFSPH": {"maxError": 0.1, "maxErrorV": 0.1, "enableDivergenceSolver": True},
        },
        "Materials": [{"id": "Fluid", "density0": 1000, "stiffness": 50000, "exponent": 7,
                       "viscosityMethod": 1, "Standard viscosity": {"viscosity": 0.01}}],
        "RigidBodies": [{
            "geometryFile": os.path.join(models, "UnitBox.obj"),
            "translation": [3 * A, 1.5 * A, 0],
            "scale": [6 * A, 3 * A, 1],
            "isDynamic": False,
            "isWall": True,
            "mapInvert": True,
            "mapThickness": 0.0,
            "mapResolution": [30, 30, 20],
        }],
        "FluidBlocks": [{
            "denseMode": 0,
            "start": [0.0, 0.0, -1],
            "end": [A, 2 * A, 1],
            "translation": [radius, radius, 0.0],
            "scale": [1, 1, 1],
        }],
    }


def main() -> None:
    method, n, warmup, steps = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
    models = os.path.join(os.path.dirname(sys.executable), "data", "models")
    with tempfile.TemporaryDirectory() as folder:
        path = os.path.join(folder, "dam_break_2d.json")
        with open(path, "w") as f:
            json.dump(scene(method, n, models), f)
        base = sph.Exec.SimulatorBase()
        base.init(useGui=False, outputDir=folder, sceneFile=path)
        clock = {"count": 0, "started": 0.0, "elapsed": 0.0, "time": 0.0}

        def after_step() -> None:
            clock["count"] += 1
            if clock["count"] == warmup:
                clock["started"] = time.perf_counter()
            if clock["count"] == warmup + steps:
                clock["elapsed"] = time.perf_counter() - clock["started"]
                clock["time"] = sph.TimeManager.getCurrent().getTime()
                clock["particles"] = sph.Simulation.getCurrent().getFluidModel(0).numActiveParticles()
                base.setValueFloat(base.STOP_AT, clock["time"])

        base.setTimeStepCB(after_step)
        # A bound the timed steps never reach; the callback stops the run earlier.
        base.setValueFloat(base.STOP_AT, 100.0)
        base.run()
        elapsed, sim_time, particles = clock["elapsed"], clock["time"], clock["particles"]
    # The library's teardown at exit can crash after the run; the report is out first.
    print(json.dumps({
        "method": method,
        "particles": particles,
        "ms_per_step": 1000 * elapsed / steps,
        "simulated_time": sim_time,
        "threads": os.environ.get("OMP_NUM_THREADS", "all"),
    }), flush=True)
    os._exit(0)


if __name__ == "__main__":
    main()
