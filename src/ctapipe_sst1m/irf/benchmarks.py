"""`SST1MPerformance`: the configured benchmark set of one telescope setup (binning traits
from ctapipe's `DefaultTrueEnergyBins`/`DefaultRecoEnergyBins`, numbers from
:mod:`ctapipe_sst1m.irf.performance`)."""

import astropy.units as u
from ctapipe.core.traits import AstroQuantity, Float, Int, List
from ctapipe.irf.binning import DefaultRecoEnergyBins, DefaultTrueEnergyBins

from . import performance as perf

__all__ = ["SST1MPerformance"]


class SST1MPerformance(DefaultTrueEnergyBins, DefaultRecoEnergyBins):
    """Energy/angular resolution, ROC, effective area and sensitivity tables."""

    min_events = Int(
        10,
        min=1,
        help="Bins with fewer MC events (gammas; and protons unless min_background_events is"
        " set) are left blank (NaN).",
    ).tag(config=True)
    min_background_events = Int(
        5,
        min=1,
        allow_none=True,
        help="Sensitivity bins with fewer MC background events (after the cuts, inside"
        " background_fov_max) are left blank; None: min_events. Background MC is the scarce"
        " sample (a gammaness cut keeps ~1 % of the protons): 5 events give the background"
        " to ±45 % and the sensitivity to about ±25 %, and leave far fewer blank bins in"
        " small samples than 10.",
    ).tag(config=True)
    alpha = Float(0.2, min=0.01, max=1, help="ON/OFF exposure ratio of the sensitivity.").tag(
        config=True
    )
    obs_time = AstroQuantity(
        default_value=50 * u.h,
        physical_type=u.physical.time,
        help="Observation time of the sensitivity.",
    ).tag(config=True)
    extra_obs_times = List(
        AstroQuantity(physical_type=u.physical.time),
        default_value=[5 * u.h],
        help="Further observation times of the sensitivity (tables and plot).",
    ).tag(config=True)
    background_fov_max = AstroQuantity(
        default_value=1.0 * u.deg,
        physical_type=u.physical.angle,
        help="Protons reconstructed within this distance of the pointing make the background.",
    ).tag(config=True)

    def __call__(self, gammas, protons, sim_info, gh_mask_g, theta_mask_g, gh_mask_p, theta_cuts):
        """All tables; ``gammas``/``protons`` weighted for ``obs_time``, masks from the cuts."""
        t_bins, r_bins = self.true_energy_bins, self.reco_energy_bins
        selected = gammas[gh_mask_g & theta_mask_g]
        tables = {
            "ENERGY BIAS RESOLUTION": perf.energy_bias_resolution(
                selected, t_bins, self.min_events
            ),
            "ANGULAR RESOLUTION": perf.angular_resolution(
                gammas[gh_mask_g], t_bins, min_events=self.min_events
            ),
            "EFFECTIVE AREA": perf.effective_area_after_cuts(selected, sim_info, t_bins),
            "ROC": perf.roc_auc(gammas, protons, r_bins, self.min_events),
        }
        tables["EFFECTIVE AREA"].meta["E_THRES"] = perf.energy_threshold(selected, t_bins)
        for t in [self.obs_time, *self.extra_obs_times]:
            name = "SENSITIVITY" if t == self.obs_time else f"SENSITIVITY {t.to_value(u.h):g}H"
            table = perf.differential_sensitivity(
                selected,
                protons[gh_mask_p],
                r_bins,
                theta_cuts,
                self.alpha,
                (0 * u.deg, self.background_fov_max),
                (t / self.obs_time).to_value(u.one),
                self.min_events,
                min_background_events=self.min_background_events,
            )
            table.meta["OBS_TIME"] = t.to_value(u.s)
            tables[name] = table
        return tables
