"""ctapipe_sst1m.dl3"""
