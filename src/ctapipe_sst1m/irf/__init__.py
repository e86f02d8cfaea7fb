"""ctapipe_sst1m.irf"""
