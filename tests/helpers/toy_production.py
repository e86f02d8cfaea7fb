"""The test toy production of tests/production: its configuration and how to run the command.

Two zenith nodes (20°, 40°), data telescope ids 21/22, stereo models and IRFs (full-enclosure
and point-like), a few thousand showers per sample: narrow scatter radius and view cone raise
the trigger fraction (about 20 % of the gammas, 6 % of the protons trigger). The proton
training sample is made of two runs, so that the merge stage (ctapipe-merge) runs.
"""

import os
import subprocess
import sys
from pathlib import Path

PRODUCTION = """
ProductionDefinition:
  name: test-toy
  seed: 7
  mc_source: toy
  nodes: [{{zenith: 20 deg, azimuth: 0 deg}}{extra_nodes}]
  tel_setups: [stereo]
ToyMCSamples:
  telescopes: [21, 22]
  samples:
    gamma_diffuse:
      train_showers: 2000
      test_showers: 2000
      config:
        ShowerGenerator: {{max_scatter_range: 250.0, viewcone: 2.5}}
        SST1MToyEventSource: {{true_images: false}}
    proton:
      train_showers: 4000
      test_showers: 4000
      files: {proton_files}
      config:
        ShowerGenerator: {{max_scatter_range: 300.0, viewcone: 3.0}}
        SST1MToyEventSource: {{true_images: false}}
ProductionStages:
  training:
    EnergyRegressor:
      model_config: {{n_estimators: 10, max_depth: 8, min_samples_leaf: 5, n_jobs: 1}}
    DispReconstructor:
      norm_config: {{n_estimators: 10, max_depth: 8, min_samples_leaf: 5, n_jobs: 1}}
      sign_config: {{n_estimators: 10, max_depth: 8, min_samples_leaf: 5, n_jobs: 1}}
    ParticleClassifier:
      model_config: {{n_estimators: 10, max_depth: 8, min_samples_leaf: 5, n_jobs: 1}}
    TrainingSample: {{min_training_events: 10}}
  cuts:
    SST1MCutOptimizer:
      {{method: efficiency, gamma_efficiency: 0.7, theta: containment, min_events: 10}}
  irf_types: [full-enclosure, point-like]
  performance:
    SST1MPerformance: {{min_events: 5}}
"""


def production_yaml(path, nodes=(20, 40), proton_files=2):
    """Write the test production file with the given zenith nodes; return its path."""
    extra = "".join(f", {{zenith: {z} deg, azimuth: 0 deg}}" for z in nodes[1:])
    assert nodes[0] == 20
    path.write_text(PRODUCTION.format(extra_nodes=extra, proton_files=proton_files))
    return path


def command(config, output_dir, *extra):
    """argv of sst1m-mc-production (the module: the console script needs a reinstall)."""
    return [
        sys.executable,
        "-m",
        "ctapipe_sst1m.tools.mc_production",
        f"--config={config}",
        f"--output-dir={output_dir}",
        f"--provenance-log={Path(output_dir).parent / 'production.provenance.log'}",
        *extra,
    ]


def environment():
    env = dict(os.environ, OMP_NUM_THREADS="1")
    env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}"
    return env


def run(config, output_dir, *extra, check=True):
    """Run the command to its end; return the CompletedProcess (stdout + stderr as text)."""
    result = subprocess.run(
        command(config, output_dir, *extra),
        capture_output=True,
        text=True,
        env=environment(),
    )
    if check and result.returncode != 0:
        raise AssertionError(f"exit {result.returncode}\n{result.stdout}\n{result.stderr}")
    return result
