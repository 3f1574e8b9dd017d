//! A reviewed plan against moto with the real dev template: `prepare`
//! writes it, `execute` runs exactly its change set, or refuses (touching
//! nothing) once the change set or the stack moved on.
//!
//! moto limitations these tests live with: DescribeStacks has no
//! LastUpdatedTime and an update leaves the status at UPDATE_COMPLETE, so a
//! stack changed by another deploy is caught here by the deployed template's
//! sha256 (the time check is covered with recorded responses in
//! deploy_states/plan.rs); executing one change set does not remove the
//! stack's other change sets as CloudFormation does, so the stale plan's
//! change set is still AVAILABLE here.

use sha2::{Digest, Sha256};
use upstack_deploy::assets::AssetFile;
use upstack_deploy::deploy::{
    self, DeployClients, DeployError, DeployOutcome, DeployRequest, ExecuteTarget, PrepareOutcome,
};
use upstack_deploy::interact::{Answer, FixedAnswer, RecordingReporter};
use upstack_deploy::plan::{PlannedKind, ReviewedPlan, StaleReason};
use upstack_test_support::{ACCOUNT_ID as ACCOUNT, MotoServer, REGION, pipeline_template};

use super::{dev_request, fake_assets, options};

struct Moto {
    _server: MotoServer,
    clients: DeployClients,
    work: tempfile::TempDir,
    /// The handlers' zips, built once: every deploy below uploads these.
    assets: Vec<AssetFile>,
}

async fn bootstrapped() -> Moto {
    let server = MotoServer::start();
    let config = server.sdk_config().await;
    let clients = super::bootstrapped(&config).await;
    let work = tempfile::tempdir().unwrap();
    let assets = fake_assets(work.path());
    Moto {
        _server: server,
        clients,
        work,
        assets,
    }
}

impl Moto {
    fn plan(&self, memory: u32) -> DeployRequest {
        dev_request(self.work.path(), memory, self.assets.clone())
    }

    fn target(&self) -> ExecuteTarget {
        ExecuteTarget {
            env: "dev".into(),
            account: ACCOUNT.into(),
            region: REGION.into(),
            outputs_path: self.work.path().join("dev/outputs.json"),
        }
    }

    /// A normal deploy (someone else's, in the stale test).
    async fn deploy(&self, memory: u32, id: &str) {
        super::deploy_ok(&self.clients, &self.plan(memory), &options(id)).await;
    }

    /// `deploy --prepare PLAN.json`: the plan saved, then read back as
    /// `deploy --execute` reads it.
    async fn prepare(&self, memory: u32, id: &str) -> ReviewedPlan {
        let mut reporter = RecordingReporter::default();
        let outcome = deploy::prepare(
            &self.clients,
            &self.plan(memory),
            &options(id),
            &mut reporter,
            &mut FixedAnswer(Answer::NoTerminal),
            std::future::pending(),
        )
        .await
        .unwrap_or_else(|error| panic!("{error}\n{}", reporter.lines.join("\n")));
        let PrepareOutcome::Ready(plan) = outcome else {
            panic!("{outcome:?}\n{}", reporter.lines.join("\n"))
        };
        let path = self.work.path().join(format!("plan-{id}.json"));
        plan.save(&path).unwrap();
        let loaded = ReviewedPlan::load(&path).unwrap();
        assert_eq!(loaded, *plan);
        loaded
    }

    async fn execute(
        &self,
        plan: &ReviewedPlan,
        id: &str,
    ) -> (Result<DeployOutcome, DeployError>, Vec<String>) {
        let mut reporter = RecordingReporter::default();
        let result = deploy::execute(
            &self.clients,
            plan,
            &self.target(),
            &options(id),
            &mut reporter,
            &mut FixedAnswer(Answer::Yes),
            std::future::pending(),
        )
        .await;
        (result, reporter.lines)
    }

    /// What each deploy below changes (the change set deploy executes or not).
    async fn memory(&self) -> Option<i64> {
        super::notify_memory(&self.clients.cloudformation).await
    }

    async fn stack_status(&self) -> String {
        let stacks = self
            .clients
            .cloudformation
            .describe_stacks()
            .stack_name("upstack-dev")
            .send()
            .await
            .unwrap();
        stacks.stacks()[0]
            .stack_status()
            .unwrap()
            .as_str()
            .to_owned()
    }

    async fn deployed_template(&self) -> String {
        super::deployed_template_body(&self.clients.cloudformation).await
    }
}

fn stale_reasons(result: Result<DeployOutcome, DeployError>) -> Vec<StaleReason> {
    match result {
        Err(DeployError::StalePlan { reasons, .. }) => reasons,
        other => panic!("expected a stale plan, got {other:?}"),
    }
}

/// Prepare on a fresh account (a CREATE change set), save, load, execute:
/// the stack is created from exactly that change set; executing the same
/// plan again is refused as already executed.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn plan_round_trip_creates_the_stack_then_refuses_a_second_run() {
    let moto = bootstrapped().await;
    let plan = moto.prepare(256, "p1").await;
    assert_eq!(plan.change_set.kind, PlannedKind::Create);
    assert!(plan.stack.is_none());
    assert!(
        plan.change_set
            .arn
            .starts_with("arn:aws:cloudformation:eu-west-1:123456789012:changeSet/upstack-p1/"),
        "{}",
        plan.change_set.arn
    );
    let compact =
        upstack_cfn::validate::upload_body(&serde_json::from_str(&pipeline_template(256)).unwrap());
    assert_eq!(
        plan.template_sha256,
        hex::encode(Sha256::digest(compact.as_bytes()))
    );
    assert_eq!(plan.assets.len(), 3);
    for (asset, built) in plan.assets.iter().zip(&moto.assets) {
        assert_eq!((&asset.key, &asset.sha256), (&built.key, &built.sha256));
        assert!(asset.version_id.is_some(), "{asset:?}");
    }
    assert!(plan.review.changes > 20, "{:?}", plan.review);
    assert!(
        !plan.review.broadening.is_empty(),
        "new roles grant permissions"
    );
    assert!(plan.diff.has_changes);
    // Preparing executed nothing: the stack waits in review.
    assert_eq!(moto.stack_status().await, "REVIEW_IN_PROGRESS");

    let (result, lines) = moto.execute(&plan, "e1").await;
    let outcome = result.unwrap_or_else(|error| panic!("{error}\n{}", lines.join("\n")));
    assert!(
        matches!(outcome, DeployOutcome::Deployed { .. }),
        "{outcome:?}"
    );
    assert!(
        lines
            .iter()
            .any(|line| line.starts_with("executing change set upstack-p1")),
        "{lines:#?}"
    );
    assert_eq!(moto.stack_status().await, "CREATE_COMPLETE");
    assert_eq!(moto.memory().await, Some(256));
    assert!(moto.target().outputs_path.is_file());

    let reasons = stale_reasons(moto.execute(&plan, "e2").await.0);
    assert!(
        reasons.iter().any(|reason| matches!(
            reason,
            StaleReason::ChangeSetNotExecutable { execution_status, .. } if execution_status.as_str() == "EXECUTE_COMPLETE"
        )),
        "{reasons:#?}"
    );
    assert!(
        reasons
            .iter()
            .any(|reason| matches!(reason, StaleReason::StackCreated { status, .. } if status == "CREATE_COMPLETE")),
        "{reasons:#?}"
    );
}

/// A plan for memory 1024 is prepared; someone else deploys 2048; the plan
/// is refused with what changed, and the other deploy's stack stays.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn plan_made_stale_by_another_deploy_is_refused_and_the_stack_untouched() {
    let moto = bootstrapped().await;
    moto.deploy(256, "d1").await;
    // One update first, so the other deploy below leaves the status as it was
    // (UPDATE_COMPLETE) and only the template tells the change.
    moto.deploy(512, "d2").await;
    let plan = moto.prepare(1024, "p1").await;
    assert_eq!(plan.change_set.kind, PlannedKind::Update);
    let recorded = plan.stack.clone().unwrap();
    assert_eq!(recorded.status, "UPDATE_COMPLETE");
    assert_eq!(moto.memory().await, Some(512), "prepare executes nothing");

    moto.deploy(2048, "d3").await;
    let template_before = moto.deployed_template().await;
    let (result, lines) = moto.execute(&plan, "e1").await;
    let error = result.unwrap_err();
    assert!(error.is_stale_plan(), "{error}");
    let message = error.to_string();
    assert!(
        message.contains("the deployed template of upstack-dev changed after the plan was made"),
        "{message}"
    );
    let reasons = stale_reasons(Err(error));
    assert_eq!(reasons.len(), 1, "{reasons:#?}");
    assert!(
        matches!(&reasons[0], StaleReason::TemplateChanged { was_sha256, .. } if *was_sha256 == recorded.template_sha256),
        "{reasons:#?}"
    );
    assert!(
        !lines.iter().any(|line| line.starts_with("executing")),
        "{lines:#?}"
    );
    assert_eq!(moto.memory().await, Some(2048));
    assert_eq!(moto.deployed_template().await, template_before);
}

/// The plan's change set was deleted (by a person, or by CloudFormation
/// after another change set ran): refused, nothing executed.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn plan_whose_change_set_was_deleted_is_refused() {
    let moto = bootstrapped().await;
    moto.deploy(256, "d1").await;
    let plan = moto.prepare(1024, "p1").await;
    moto.clients
        .cloudformation
        .delete_change_set()
        .change_set_name(&plan.change_set.arn)
        .send()
        .await
        .unwrap();

    let reasons = stale_reasons(moto.execute(&plan, "e1").await.0);
    assert_eq!(
        reasons,
        vec![StaleReason::ChangeSetGone {
            name: "upstack-p1".into(),
            stack: "upstack-dev".into()
        }]
    );
    assert_eq!(moto.memory().await, Some(256));
    assert_eq!(moto.stack_status().await, "CREATE_COMPLETE");
}
