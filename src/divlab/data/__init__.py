"""The dataset directory: splits plus a manifest, written atomically, read back as HF datasets."""

from divlab.data.directory import (
    DATASET_FORMAT,
    DATASET_FORMAT_VERSION,
    DatasetDirError,
    atomic_dataset_dir,
    read_manifest,
    verify_checksums,
)
from divlab.data.reader import load_split, read_rows

__all__ = [
    "DATASET_FORMAT",
    "DATASET_FORMAT_VERSION",
    "DatasetDirError",
    "atomic_dataset_dir",
    "load_split",
    "read_manifest",
    "read_rows",
    "verify_checksums",
]
