//! The `photo-check` Lambda binary: speaks the Lambda Runtime API (set
//! `AWS_LAMBDA_RUNTIME_API`) and handles S3 events with
//! [`upstack_photo_check::PhotoCheck`].

use std::sync::Arc;

use handler_common::SystemClock;
use handler_common::config::EnvSource;
use lambda_runtime::{Error, LambdaEvent, service_fn};

#[tokio::main]
async fn main() -> Result<(), Error> {
    handler_common::logging::init_json_logs();
    // Clients and configuration are built once per execution environment.
    let sdk_config = handler_common::sdk::load_sdk_config().await;
    let handler = Arc::new(
        upstack_photo_check::PhotoCheck::from_env(
            upstack_photo_check::Clients::new(&sdk_config),
            &EnvSource::process(),
            Arc::new(SystemClock),
        )
        .map_err(|error| handler_common::config::startup_error("photo-check", error))?,
    );
    lambda_runtime::run(service_fn(move |event: LambdaEvent<serde_json::Value>| {
        let handler = Arc::clone(&handler);
        async move {
            let summary = handler
                .handle(
                    &event.payload,
                    &event.context.request_id,
                    event.context.deadline(),
                )
                .await
                .map_err(|error| handler_common::process::diagnostic("RecordsFailed", &error))?;
            serde_json::to_value(summary).map_err(|error| {
                handler_common::process::diagnostic("ResponseNotSerializable", &error)
            })
        }
    }))
    .await
}
