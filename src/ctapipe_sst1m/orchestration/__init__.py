"""ctapipe_sst1m.orchestration"""
