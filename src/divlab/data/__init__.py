"""The dataset directory: splits plus a manifest, written atomically through one writer, read back as HF
datasets."""

from divlab.data.directory import (
    DATASET_FORMAT,
    DATASET_FORMAT_VERSION,
    DatasetDirError,
    atomic_dataset_dir,
    checksum_of,
    existing_dataset,
    read_manifest,
    verify_checksums,
)
from divlab.data.reader import load_split, read_rows
from divlab.data.writer import DatasetWriter, new_manifest, write_dataset

__all__ = [
    "DATASET_FORMAT",
    "DATASET_FORMAT_VERSION",
    "DatasetDirError",
    "DatasetWriter",
    "atomic_dataset_dir",
    "checksum_of",
    "existing_dataset",
    "load_split",
    "new_manifest",
    "read_manifest",
    "read_rows",
    "verify_checksums",
    "write_dataset",
]
