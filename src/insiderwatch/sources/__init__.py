"""Sources: find dataset files and read them into raw, numbered batches."""

from insiderwatch.sources.dataset import Dataset, DatasetFile, discover
from insiderwatch.sources.readers import READERS, RawBatch, Reader, reader_for

__all__ = ["READERS", "Dataset", "DatasetFile", "RawBatch", "Reader", "discover", "reader_for"]
