"""A bottle for platforms other than a local Docker engine, from the same RuntimePlan `start`
applies, built without an engine (_offline.py). kubernetes/: the objects of one bottle."""

from ._offline import Handover, OfflineBottle, image_references, offline_bottle

__all__ = ["Handover", "OfflineBottle", "image_references", "offline_bottle"]
