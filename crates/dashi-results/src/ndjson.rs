//! The compact form for the web UI: the stored NDJSON as-is (column line, then row arrays), either
//! decompressed or, when the client accepts zstd, as the stored bytes untouched.

use crate::error::Result;
use crate::store::ResultsStore;
use crate::stream::ResultStream;
use crate::writer::Storage;

impl ResultsStore {
    /// Streams the stored lines decompressed: `{"columns":[…]}` then one JSON array per row,
    /// each line ending in `\n` (`application/x-ndjson`).
    pub async fn ndjson(&self, storage: &Storage) -> Result<ResultStream> {
        ResultStream::spawn(self, storage, |raw, out| {
            let mut decoder = zstd::stream::read::Decoder::new(raw)?;
            std::io::copy(&mut decoder, out)?;
            Ok(())
        })
        .await
    }

    /// Streams the stored zstd bytes untouched, for a response with `Content-Encoding: zstd` to a
    /// client whose `Accept-Encoding` lists `zstd`; the decoded body is [`ResultsStore::ndjson`]'s.
    pub async fn zstd(&self, storage: &Storage) -> Result<ResultStream> {
        Ok(ResultStream::from_boxed(self.raw_stream(storage).await?))
    }
}
