//! The results store: where finished result blobs live, and the only code that talks to
//! `object_store`.
//!
//! The embedded default is a folder (`LocalFileSystem`, normally `<data_dir>/results`); fleets set
//! an S3-compatible bucket. Blobs are immutable and named
//! `results/<org>/<yyyy>/<mm>/<uuid>.ndjson.zst`. A writer spools into a temp file in the store's
//! spool folder and the blob appears only when the writer finishes, whole: in the folder by an
//! atomic rename, in a bucket by one upload. So no reader ever sees half a result, and a crashed
//! run leaves at most a spool file, which [`ResultsStore::sweep_orphans`] removes.

use std::collections::HashSet;
use std::io::Read;
use std::path::{Path as FsPath, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};
use dashi_core::OrgId;
use futures_core::Stream;
use futures_util::{StreamExt, TryStreamExt};
use object_store::local::LocalFileSystem;
use object_store::path::Path;
use object_store::{ObjectStore, ObjectStoreExt, PutPayload, WriteMultipart};
use tempfile::NamedTempFile;
use tokio::io::AsyncReadExt;
use tracing::{debug, warn};

use crate::error::{Error, Result, from_store};
use crate::writer::{ResultWriter, Storage, WriterOptions};

/// The prefix every result blob lives under; listing stops there, so the bucket may hold others.
const PREFIX: &str = "results";
/// The spool folder's name inside a local results folder (outside [`PREFIX`], so never listed).
const LOCAL_SPOOL: &str = ".incoming";
/// Spool files are named `result-*.partial`, so a sweep of a shared temp folder touches only ours.
pub(crate) const SPOOL_PREFIX: &str = "result-";
pub(crate) const SPOOL_SUFFIX: &str = ".partial";
/// Part size for uploads to a bucket (S3's minimum); one part is buffered while another is sent.
const PART_SIZE: usize = 5 * 1024 * 1024;

/// Where results are stored.
#[derive(Debug, Clone)]
pub enum StoreSettings {
    /// A folder on this machine; the embedded default is `<data_dir>/results`.
    Local { folder: PathBuf },
    /// An S3-compatible bucket.
    S3(S3Settings),
}

/// An S3-compatible bucket (AWS, MinIO, Cloudflare R2, …).
#[derive(Clone)]
pub struct S3Settings {
    pub bucket: String,
    pub region: Option<String>,
    /// For non-AWS services, e.g. `http://127.0.0.1:9000`; path-style requests are used then.
    pub endpoint: Option<String>,
    /// Without keys, credentials come from the environment or instance metadata.
    pub access_key_id: Option<String>,
    pub secret_access_key: Option<String>,
    /// Allows a plain-HTTP endpoint (a MinIO on the same host).
    pub allow_http: bool,
    /// A local folder for results being written before upload (e.g. `<data_dir>/tmp`).
    pub spool_dir: PathBuf,
}

impl std::fmt::Debug for S3Settings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("S3Settings")
            .field("bucket", &self.bucket)
            .field("region", &self.region)
            .field("endpoint", &self.endpoint)
            .field("access_key_id", &self.access_key_id)
            .field("secret_access_key", &self.secret_access_key.as_ref().map(|_| "***"))
            .field("allow_http", &self.allow_http)
            .field("spool_dir", &self.spool_dir)
            .finish()
    }
}

/// One blob found by [`ResultsStore::list`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredObject {
    /// The value kept in the metadata row (`Storage::Object { location }`).
    pub location: String,
    pub last_modified: DateTime<Utc>,
    pub size: u64,
}

/// What one [`ResultsStore::sweep_orphans`] pass did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct SweepReport {
    /// Blobs listed under the results prefix.
    pub examined: u64,
    /// Blobs deleted because no row referenced them.
    pub deleted: u64,
    /// Spool files of writers that never finished (a crash mid-run), deleted.
    pub abandoned_spool_files: u64,
}

/// A handle on the results store; cheap to clone and share between tasks.
#[derive(Clone)]
pub struct ResultsStore {
    inner: Arc<Inner>,
}

struct Inner {
    objects: Arc<dyn ObjectStore>,
    /// Set for the folder backend: blobs are moved into place and read as plain files.
    local: Option<Arc<LocalFileSystem>>,
    spool_dir: PathBuf,
}

impl std::fmt::Debug for ResultsStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "ResultsStore({})", self.inner.objects)
    }
}

impl ResultsStore {
    /// Opens the store `settings` describe, creating a local folder if needed.
    ///
    /// Errors: [`Error::Settings`] for an unusable bucket configuration; [`Error::Io`] when the
    /// folders cannot be created.
    pub fn open(settings: &StoreSettings) -> Result<ResultsStore> {
        match settings {
            StoreSettings::Local { folder } => ResultsStore::local(folder),
            StoreSettings::S3(s3) => ResultsStore::s3(s3),
        }
    }

    /// A store in `folder` (created if missing), spooling into `folder/.incoming`.
    pub fn local(folder: impl AsRef<FsPath>) -> Result<ResultsStore> {
        let folder = folder.as_ref();
        let spool_dir = folder.join(LOCAL_SPOOL);
        std::fs::create_dir_all(&spool_dir)?;
        let local = LocalFileSystem::new_with_prefix(folder)
            .map_err(Error::Store)?
            .with_automatic_cleanup(true);
        let local = Arc::new(local);
        let objects: Arc<dyn ObjectStore> = local.clone();
        Ok(ResultsStore { inner: Arc::new(Inner { objects, local: Some(local), spool_dir }) })
    }

    /// A store over any `object_store` backend (used for buckets, and in tests with `InMemory`);
    /// results being written spool into `spool_dir` (created if missing) before upload.
    pub fn with_object_store(objects: Arc<dyn ObjectStore>, spool_dir: impl Into<PathBuf>) -> Result<ResultsStore> {
        let spool_dir = spool_dir.into();
        std::fs::create_dir_all(&spool_dir)?;
        Ok(ResultsStore { inner: Arc::new(Inner { objects, local: None, spool_dir }) })
    }

    fn s3(settings: &S3Settings) -> Result<ResultsStore> {
        let mut builder = object_store::aws::AmazonS3Builder::new()
            .with_bucket_name(&settings.bucket)
            .with_allow_http(settings.allow_http);
        if let Some(region) = &settings.region {
            builder = builder.with_region(region);
        }
        if let Some(endpoint) = &settings.endpoint {
            builder = builder.with_endpoint(endpoint).with_virtual_hosted_style_request(false);
        }
        if let Some(key) = &settings.access_key_id {
            builder = builder.with_access_key_id(key);
        }
        if let Some(secret) = &settings.secret_access_key {
            builder = builder.with_secret_access_key(secret);
        }
        let bucket = builder.build().map_err(|error| Error::Settings { reason: error.to_string() })?;
        ResultsStore::with_object_store(Arc::new(bucket), &settings.spool_dir)
    }

    /// Starts a result for `org`. Nothing is stored until [`ResultWriter::finish`] succeeds.
    pub fn writer(&self, org: OrgId, options: WriterOptions) -> ResultWriter {
        let now = Utc::now();
        let location = format!(
            "{PREFIX}/{org}/{}/{}/{}.ndjson.zst",
            now.format("%Y"),
            now.format("%m"),
            uuid::Uuid::now_v7()
        );
        ResultWriter::new(self.clone(), location, options)
    }

    /// Deletes the blob at `location`. Deleting a blob that is already gone succeeds, so a sweep
    /// and a retention job may race.
    pub async fn delete(&self, location: &str) -> Result<()> {
        let path = parse_location(location)?;
        match self.inner.objects.delete(&path).await {
            Ok(()) => Ok(()),
            Err(object_store::Error::NotFound { .. }) => Ok(()),
            Err(error) => Err(from_store(location, error)),
        }
    }

    /// Every blob under the results prefix, in no particular order.
    pub fn list(&self) -> impl Stream<Item = Result<StoredObject>> + Send + 'static {
        let prefix = Path::from(PREFIX);
        self.inner.objects.list(Some(&prefix)).map(|listed| {
            let meta = listed.map_err(Error::Store)?;
            Ok(StoredObject { location: meta.location.to_string(), last_modified: meta.last_modified, size: meta.size })
        })
    }

    /// Deletes blobs that no metadata row references and that are older than `older_than`, and
    /// spool files left by writers that died. The caller lists `referenced` from the database
    /// (every `Storage::Object` location still in a row). Redash compat: this is the blob half of
    /// `cleanup_query_results`; callers delete rows first, then blobs, so no row ever points at
    /// a missing blob. The age guard keeps a blob whose row is being inserted right now.
    pub async fn sweep_orphans(&self, referenced: &HashSet<String>, older_than: Duration) -> Result<SweepReport> {
        // An age beyond chrono's range means no blob is old enough.
        let cutoff = chrono::Duration::from_std(older_than).ok().and_then(|age| Utc::now().checked_sub_signed(age));
        let mut report = SweepReport::default();
        let mut listing = std::pin::pin!(self.list());
        while let Some(object) = listing.try_next().await? {
            report.examined += 1;
            let is_old_enough = cutoff.is_some_and(|cutoff| object.last_modified <= cutoff);
            if !is_old_enough || referenced.contains(&object.location) {
                continue;
            }
            self.delete(&object.location).await?;
            debug!(location = %object.location, "deleted unreferenced result");
            report.deleted += 1;
        }
        let spool_dir = self.inner.spool_dir.clone();
        report.abandoned_spool_files =
            tokio::task::spawn_blocking(move || remove_stale_spool_files(&spool_dir, older_than))
                .await
                .map_err(|_| Error::TaskFailed)??;
        Ok(report)
    }

    pub(crate) fn spool_dir(&self) -> &FsPath {
        &self.inner.spool_dir
    }

    /// Makes a finished spool file the blob at `location`.
    pub(crate) async fn persist(&self, location: &str, spooled: NamedTempFile) -> Result<()> {
        let path = parse_location(location)?;
        if let Some(local) = &self.inner.local {
            let target = local.path_to_filesystem(&path).map_err(Error::Store)?;
            return tokio::task::spawn_blocking(move || {
                // The metadata row written next will point here: the bytes must be durable first.
                spooled.as_file().sync_all()?;
                if let Some(parent) = target.parent() {
                    std::fs::create_dir_all(parent)?;
                }
                spooled.persist(&target).map_err(|error| error.error)?;
                Ok(())
            })
            .await
            .map_err(|_| Error::TaskFailed)?;
        }
        upload(self.inner.objects.as_ref(), &path, location, spooled).await
    }

    /// Opens the compressed bytes of a stored result for a blocking reader thread.
    ///
    /// Must run on a thread where `Handle::current()` works but blocking is allowed (a
    /// `spawn_blocking` closure): bucket reads bridge the async download into `Read`.
    pub(crate) fn open_blocking(&self, storage: &Storage) -> Result<Box<dyn Read + Send>> {
        let location = match storage {
            Storage::Inline(bytes) => return Ok(Box::new(std::io::Cursor::new(bytes.clone()))),
            Storage::Object { location } => location,
        };
        let path = parse_location(location)?;
        if let Some(local) = &self.inner.local {
            let file_path = local.path_to_filesystem(&path).map_err(Error::Store)?;
            return match std::fs::File::open(file_path) {
                Ok(file) => Ok(Box::new(file)),
                Err(error) if error.kind() == std::io::ErrorKind::NotFound => {
                    Err(Error::NotFound { location: location.clone() })
                }
                Err(error) => Err(Error::Io(error)),
            };
        }
        let runtime = tokio::runtime::Handle::current();
        let fetched = runtime.block_on(self.inner.objects.get(&path)).map_err(|error| from_store(location, error))?;
        let body = fetched.into_stream().map_err(std::io::Error::other);
        let reader = tokio_util::io::StreamReader::new(body);
        Ok(Box::new(tokio_util::io::SyncIoBridge::new_with_handle(reader, runtime)))
    }

    /// The stored bytes as-is, for serving with `Content-Encoding: zstd`.
    pub(crate) async fn raw_stream(
        &self,
        storage: &Storage,
    ) -> Result<futures_util::stream::BoxStream<'static, Result<bytes::Bytes>>> {
        let location = match storage {
            Storage::Inline(bytes) => {
                let bytes = bytes::Bytes::from(bytes.clone());
                return Ok(futures_util::stream::once(async move { Ok(bytes) }).boxed());
            }
            Storage::Object { location } => location,
        };
        let path = parse_location(location)?;
        if let Some(local) = &self.inner.local {
            let file_path = local.path_to_filesystem(&path).map_err(Error::Store)?;
            let file = match tokio::fs::File::open(file_path).await {
                Ok(file) => file,
                Err(error) if error.kind() == std::io::ErrorKind::NotFound => {
                    return Err(Error::NotFound { location: location.clone() });
                }
                Err(error) => return Err(Error::Io(error)),
            };
            return Ok(tokio_util::io::ReaderStream::with_capacity(file, 64 * 1024).map_err(Error::Io).boxed());
        }
        let fetched = self.inner.objects.get(&path).await.map_err(|error| from_store(location, error))?;
        Ok(fetched.into_stream().map_err(Error::Store).boxed())
    }
}

fn parse_location(location: &str) -> Result<Path> {
    let path = Path::parse(location).map_err(|_| Error::NotFound { location: location.to_owned() })?;
    // Only our own blobs: a location from a tampered row must not reach other files.
    if !location.starts_with(PREFIX) || path.parts().next().is_none_or(|first| first.as_ref() != PREFIX) {
        return Err(Error::NotFound { location: location.to_owned() });
    }
    Ok(path)
}

/// Uploads a spool file: one request when small, else a multipart upload with one part in flight
/// and one being filled, so memory stays at two parts whatever the result's size. Every failure
/// is the store's: a "not found" while writing means the bucket, not the result, is missing.
async fn upload(objects: &dyn ObjectStore, path: &Path, location: &str, spooled: NamedTempFile) -> Result<()> {
    let std_file = spooled.reopen()?;
    let size = std_file.metadata()?.len();
    let mut file = tokio::fs::File::from_std(std_file);
    if size <= PART_SIZE as u64 {
        let mut bytes = Vec::with_capacity(size as usize);
        file.read_to_end(&mut bytes).await?;
        objects.put(path, PutPayload::from(bytes)).await.map_err(Error::Store)?;
        return Ok(());
    }
    let upload = objects.put_multipart(path).await.map_err(Error::Store)?;
    let mut multipart = WriteMultipart::new_with_chunk_size(upload, PART_SIZE);
    let mut buffer = vec![0u8; 256 * 1024];
    let outcome: Result<()> = async {
        loop {
            let n_read = file.read(&mut buffer).await?;
            if n_read == 0 {
                return Ok(());
            }
            multipart.wait_for_capacity(1).await.map_err(Error::Store)?;
            multipart.write(&buffer[..n_read]);
        }
    }
    .await;
    match outcome {
        Ok(()) => {
            multipart.finish().await.map_err(Error::Store)?;
            Ok(())
        }
        Err(error) => {
            if let Err(abort_error) = multipart.abort().await {
                warn!(location, error = %abort_error, "could not abort a failed result upload");
            }
            Err(error)
        }
    }
}

fn remove_stale_spool_files(spool_dir: &FsPath, older_than: Duration) -> Result<u64> {
    let mut removed = 0;
    for entry in std::fs::read_dir(spool_dir)? {
        let entry = entry?;
        let name = entry.file_name();
        let name = name.to_string_lossy();
        if !(name.starts_with(SPOOL_PREFIX) && name.ends_with(SPOOL_SUFFIX)) {
            continue;
        }
        let age = entry.metadata()?.modified()?.elapsed().unwrap_or_default();
        if age < older_than {
            continue;
        }
        match std::fs::remove_file(entry.path()) {
            Ok(()) => removed += 1,
            Err(error) if error.kind() == std::io::ErrorKind::NotFound => {}
            Err(error) => return Err(Error::Io(error)),
        }
    }
    Ok(removed)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn locations_outside_the_results_prefix_are_refused() {
        assert!(parse_location("results/1/2024/05/x.ndjson.zst").is_ok());
        for bad in ["secret.key", "../results/x", "resultsx/1/x", "", "results/../x"] {
            assert!(matches!(parse_location(bad), Err(Error::NotFound { .. })), "{bad}");
        }
    }
}
