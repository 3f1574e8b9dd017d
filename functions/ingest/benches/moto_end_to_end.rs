//! ingest end to end against moto: S3 GetObject streaming, parsing,
//! BatchWriteItem, report item. Prints rows/second.
//!
//! `INGEST_BENCH_ROWS` sets the row count (default 100,000). Needs
//! `.venv/bin/moto_server` (`bash scripts/setup-test-tools.sh`).
//!
//! Run: `cargo bench -p upstack-ingest --bench moto_end_to_end`

use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};

use handler_common::config::EnvSource;
use handler_common::testing::MotoPipeline;
use handler_common::{CallRecorder, SystemClock};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let rows: u64 = match std::env::var("INGEST_BENCH_ROWS") {
        Ok(value) => value.parse()?,
        Err(_) => 100_000,
    };
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    runtime.block_on(async move {
        let pipeline = MotoPipeline::start().await;
        let mut csv = String::from("id,name,amount\n");
        for row in 0..rows {
            csv.push_str(&format!("{row},name-{row},{}.{:02}\n", row % 1000, row % 100));
        }
        let bytes = csv.len();
        let version = pipeline.put_object("data/bench.csv", csv.into_bytes()).await;
        let event = pipeline.created_event("data/bench.csv", &version, bytes as i64);
        let pairs = [("TABLE_NAME", pipeline.table.as_str())];
        let recorder = CallRecorder::new();
        let clients = upstack_ingest::Clients {
            s3: recorder.s3_client(&pipeline.sdk_config),
            dynamodb: recorder.dynamodb_client(&pipeline.sdk_config),
        };
        let ingest = upstack_ingest::Ingest::from_env(
            clients,
            &EnvSource::from_pairs(&pairs),
            Arc::new(SystemClock),
        )?;
        let started = Instant::now();
        let summary = ingest.handle(&event, "bench", SystemTime::now() + Duration::from_secs(900)).await?;
        let elapsed = started.elapsed();
        let requests = recorder.calls().iter().filter(|call| call.action == "dynamodb:BatchWriteItem").count();
        println!("{}", serde_json::to_string(&summary)?);
        println!(
            "ingest end to end against moto: {rows} rows ({bytes} bytes, {requests} BatchWriteItem requests) in {elapsed:.2?}: {:.0} rows/s",
            rows as f64 / elapsed.as_secs_f64()
        );
        Ok::<_, Box<dyn std::error::Error>>(())
    })
}
