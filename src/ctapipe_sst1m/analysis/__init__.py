"""ctapipe_sst1m.analysis"""
