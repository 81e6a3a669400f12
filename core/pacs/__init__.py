"""DICOMweb: search (QIDO-RS), fetch (WADO-RS) and send back (STOW-RS), with ``dicomweb-client``.

``configured_servers()`` lists the named servers (environment or ``.streamlit/secrets.toml``);
``search_studies`` / ``search_series`` find what to open; ``fetch_image`` brings a series in its
stored transfer syntax through ``core.imaging.load`` (the upload path and its limits);
``send`` / ``send_bytes`` store DICOM SEG and derived images back into their source study.
A throwaway Orthanc for tests and benchmarks lives in ``tests/orthanc.py`` (never part of the app).
"""

from core.pacs.config import PacsServer, configured_servers, server_for_url
from core.pacs.fetch import Fetched, fetch, fetch_image
from core.pacs.search import SeriesHit, StudyHit, search_series, search_studies
from core.pacs.send import SendResult, send, send_bytes
from core.pacs.thumbnail import series_thumbnail

__all__ = ["Fetched", "PacsServer", "SendResult", "SeriesHit", "StudyHit", "configured_servers", "fetch",
           "fetch_image", "search_series", "search_studies", "send", "send_bytes", "series_thumbnail",
           "server_for_url"]
