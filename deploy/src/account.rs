//! The account pre-flight: what the account's Lambda quotas must allow for
//! the stack, checked before anything is uploaded or changed, so a quota is
//! a refusal naming the number to change rather than a stack rolled back
//! half-way through a deploy. [`check`] is the rule (pure); [`read`] asks
//! Lambda for the facts it needs (GetAccountSettings, and GetFunction for
//! each of the stack's functions).

use std::fmt;

use upstack_stack::Manifest;

use crate::assets::AssetFile;
use crate::aws::CallError;

/// The unreserved concurrency Lambda keeps for functions without a
/// reservation: PutFunctionConcurrency refuses a reservation that leaves
/// fewer ("decreases account's UnreservedConcurrentExecution below its
/// minimum value of [100]"; an account whose limit is below 100, often 10 on
/// a new account, answers with its limit instead, so no reservation fits
/// there). <https://docs.aws.amazon.com/lambda/latest/dg/configuration-concurrency.html>
pub const UNRESERVED_FLOOR: i64 = 100;

const GET_ACCOUNT_SETTINGS: &str = "lambda:GetAccountSettings";
const GET_FUNCTION: &str = "lambda:GetFunction";

/// The IAM actions [`read`] calls: the CI plan role, which runs
/// `deploy --prepare`, must grant them (tested beside the drift reads').
pub const ACTIONS: [&str; 2] = [GET_ACCOUNT_SETTINGS, GET_FUNCTION];

/// What GetAccountSettings says about the account in one region. A limit
/// AWS did not report (an emulator's answer) is `None` and not checked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LambdaAccount {
    /// `AccountLimit.ConcurrentExecutions`.
    pub concurrent_executions: Option<i64>,
    /// `AccountLimit.UnreservedConcurrentExecutions`: the limit minus every
    /// reservation in the account, this stack's current ones included.
    pub unreserved_concurrent_executions: Option<i64>,
    /// `AccountLimit.CodeSizeUnzipped`: a function's code, extracted.
    pub code_size_unzipped: Option<i64>,
    /// `AccountLimit.TotalCodeSize`: every function's and layer's code.
    pub total_code_size: Option<i64>,
    /// `AccountUsage.TotalCodeSize`: what is stored now.
    pub total_code_used: i64,
}

/// One of the stack's functions as it is deployed now.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Deployed {
    pub reserved_concurrency: Option<i64>,
    /// `Configuration.CodeSize`: its zip's size in the code storage.
    pub code_size: i64,
}

/// One of the stack's functions: what the stack asks for, and what the
/// account holds for it now.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FunctionDemand {
    pub handler: String,
    /// From the manifest (the env file's `reserved_concurrency`).
    pub reserved_concurrency: Option<i64>,
    /// The zip bundle built, when the check runs after the build.
    pub code: Option<CodeSize>,
    /// `None`: not deployed yet.
    pub deployed: Option<Deployed>,
}

/// A zip's sizes, as bundle recorded them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CodeSize {
    pub zipped: u64,
    /// The one `bootstrap` entry's size: what Lambda extracts.
    pub unzipped: u64,
}

/// Where the stack goes, for the messages.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Target {
    pub account: String,
    pub region: String,
    pub env: String,
}

/// One quota the stack would exceed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LimitProblem {
    Concurrency {
        limit: i64,
        /// What the stack reserves at its peak, and per handler.
        reserves: i64,
        per_function: Vec<(String, i64)>,
        /// Reserved by functions outside this stack.
        others: i64,
    },
    Unzipped {
        handler: String,
        size: u64,
        limit: i64,
    },
    CodeStorage {
        used: i64,
        adds: i64,
        limit: i64,
    },
}

/// The deploy refused before anything was uploaded or changed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub struct AccountLimitsExceeded {
    pub target: Target,
    pub problems: Vec<LimitProblem>,
}

impl fmt::Display for AccountLimitsExceeded {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let Target {
            account,
            region,
            env,
        } = &self.target;
        let lines: Vec<String> = self
            .problems
            .iter()
            .map(|problem| problem.sentence(account, region, env))
            .collect();
        match lines.as_slice() {
            [one] => write!(f, "{one}; nothing was changed"),
            _ => {
                write!(
                    f,
                    "account {account} in {region} cannot take this stack; nothing was changed:"
                )?;
                lines.iter().try_for_each(|line| write!(f, "\n  - {line}"))
            }
        }
    }
}

impl LimitProblem {
    fn sentence(&self, account: &str, region: &str, env: &str) -> String {
        match self {
            LimitProblem::Concurrency {
                limit,
                reserves,
                per_function,
                others,
            } => {
                let each = per_function
                    .iter()
                    .map(|(handler, count)| format!("{handler} {count}"))
                    .collect::<Vec<_>>()
                    .join(", ");
                let others_text = if *others > 0 {
                    format!(", other functions in the account reserve {others}")
                } else {
                    String::new()
                };
                format!(
                    "account {account} in {region} allows {limit} concurrent executions; the stack reserves {reserves} ({each}){others_text} and Lambda keeps {UNRESERVED_FLOOR} unreserved: lower reserved_concurrency in envs/{env}.toml (or remove it) or request a concurrency quota of at least {}",
                    others + reserves + UNRESERVED_FLOOR
                )
            }
            LimitProblem::Unzipped {
                handler,
                size,
                limit,
            } => format!(
                "{handler}'s code is {size} bytes unzipped; Lambda in account {account} in {region} takes at most {limit}: make the handler's binary smaller"
            ),
            LimitProblem::CodeStorage { used, adds, limit } => format!(
                "account {account} in {region} stores {used} bytes of Lambda code of at most {limit}, and this deploy adds {adds}: delete unused functions, versions or layers, or request a larger code storage quota"
            ),
        }
    }
}

/// Whether the account can take the stack: its reserved concurrency, each
/// zip's extracted size and the code storage it adds.
///
/// CloudFormation updates the functions in an order we do not choose, and
/// each update holds either its function's old or its new reservation (a
/// reservation that drops is returned to the pool only when that function's
/// update runs; one that is removed, by DeleteFunctionConcurrency, too). So
/// every function counts with the larger of the two: the reservations at the
/// worst moment of the deploy. That is exact whenever no reservation drops,
/// and never lets through a deploy some order of updates would fail. A
/// deploy that adds no reservation is never refused: Lambda checks only a
/// reservation that grows. Code storage is counted the same way (a
/// function's old zip is replaced by its new one).
///
/// `CodeSizeZipped` is not checked: it limits zips uploaded to Lambda
/// directly, and deploy hands Lambda its zips through S3.
pub fn check(
    target: &Target,
    account: &LambdaAccount,
    functions: &[FunctionDemand],
) -> Result<(), AccountLimitsExceeded> {
    let mut problems = Vec::new();
    if let Some(problem) = concurrency(account, functions) {
        problems.push(problem);
    }
    if let Some(limit) = account.code_size_unzipped {
        for function in functions {
            if let Some(code) = function.code
                && i64::try_from(code.unzipped).unwrap_or(i64::MAX) > limit
            {
                problems.push(LimitProblem::Unzipped {
                    handler: function.handler.clone(),
                    size: code.unzipped,
                    limit,
                });
            }
        }
    }
    if let Some(limit) = account.total_code_size {
        let adds: i64 = functions
            .iter()
            .filter_map(|function| {
                let new = i64::try_from(function.code?.zipped).unwrap_or(i64::MAX);
                let old = function.deployed.map_or(0, |deployed| deployed.code_size);
                Some((new - old).max(0))
            })
            .sum();
        if adds > 0 && account.total_code_used.saturating_add(adds) > limit {
            problems.push(LimitProblem::CodeStorage {
                used: account.total_code_used,
                adds,
                limit,
            });
        }
    }
    if problems.is_empty() {
        Ok(())
    } else {
        Err(AccountLimitsExceeded {
            target: target.clone(),
            problems,
        })
    }
}

fn concurrency(account: &LambdaAccount, functions: &[FunctionDemand]) -> Option<LimitProblem> {
    let limit = account.concurrent_executions?;
    let current = |function: &FunctionDemand| {
        function
            .deployed
            .and_then(|deployed| deployed.reserved_concurrency)
            .unwrap_or(0)
    };
    let wanted = |function: &FunctionDemand| function.reserved_concurrency.unwrap_or(0);
    if !functions
        .iter()
        .any(|function| wanted(function) > current(function))
    {
        return None;
    }
    let ours_now: i64 = functions.iter().map(current).sum();
    // Unreserved is the limit minus every reservation, ours included; without
    // it (an emulator), no other function is taken to reserve any.
    let others = account
        .unreserved_concurrent_executions
        .map_or(0, |unreserved| (limit - unreserved - ours_now).max(0));
    let per_function: Vec<(String, i64)> = functions
        .iter()
        .map(|function| {
            (
                function.handler.clone(),
                wanted(function).max(current(function)),
            )
        })
        .filter(|(_, count)| *count > 0)
        .collect();
    let reserves: i64 = per_function.iter().map(|(_, count)| count).sum();
    // Below a limit of 100 Lambda keeps the whole limit unreserved, so the
    // same sum refuses there too: others + reserves + 100 > limit.
    if others + reserves + UNRESERVED_FLOOR <= limit {
        return None;
    }
    Some(LimitProblem::Concurrency {
        limit,
        reserves,
        per_function,
        others,
    })
}

/// Asks Lambda what [`check`] needs: the account's settings and, for each
/// function of `manifest`, its current reservation and code size.
/// `assets` (when the zips are built) give each function's new code sizes.
pub async fn read(
    lambda: &aws_sdk_lambda::Client,
    manifest: &Manifest,
    assets: Option<&[AssetFile]>,
) -> Result<(LambdaAccount, Vec<FunctionDemand>), CallError> {
    let settings =
        crate::aws::call(GET_ACCOUNT_SETTINGS, lambda.get_account_settings().send()).await?;
    let limit = settings.account_limit();
    // The SDK reads an absent number as 0, which no real account reports.
    let reported = |value: i64| (value > 0).then_some(value);
    let account = LambdaAccount {
        concurrent_executions: limit
            .and_then(|limit| reported(i64::from(limit.concurrent_executions()))),
        unreserved_concurrent_executions: limit
            .and_then(|limit| limit.unreserved_concurrent_executions())
            .map(i64::from),
        code_size_unzipped: limit.and_then(|limit| reported(limit.code_size_unzipped())),
        total_code_size: limit.and_then(|limit| reported(limit.total_code_size())),
        total_code_used: settings
            .account_usage()
            .map_or(0, |usage| usage.total_code_size()),
    };
    let mut functions = Vec::with_capacity(manifest.functions.len());
    for function in &manifest.functions {
        let code = assets.and_then(|assets| {
            assets
                .iter()
                .find(|asset| asset.key == function.asset_key)
                .map(|asset| CodeSize {
                    zipped: asset.size,
                    unzipped: asset.unzipped_size,
                })
        });
        functions.push(FunctionDemand {
            handler: function.handler.clone(),
            reserved_concurrency: function.reserved_concurrency,
            code,
            deployed: deployed(lambda, &function.function_name).await?,
        });
    }
    Ok((account, functions))
}

/// The function's reservation and code size now; `None` when it does not exist.
async fn deployed(
    lambda: &aws_sdk_lambda::Client,
    function_name: &str,
) -> Result<Option<Deployed>, CallError> {
    match lambda
        .get_function()
        .function_name(function_name)
        .send()
        .await
    {
        Ok(output) => Ok(Some(Deployed {
            reserved_concurrency: output
                .concurrency()
                .and_then(|concurrency| concurrency.reserved_concurrent_executions())
                .map(i64::from),
            code_size: output
                .configuration()
                .map_or(0, |configuration| configuration.code_size()),
        })),
        Err(error) => {
            let error = CallError::from_sdk(GET_FUNCTION, &error);
            if error.is_not_found() {
                Ok(None)
            } else {
                Err(error)
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn target() -> Target {
        Target {
            account: "123456789012".into(),
            region: "eu-west-1".into(),
            env: "dev".into(),
        }
    }

    /// A default account: 1000 concurrency, 250 MB unzipped, 75 GB storage.
    fn account(limit: i64, unreserved: i64) -> LambdaAccount {
        LambdaAccount {
            concurrent_executions: Some(limit),
            unreserved_concurrent_executions: Some(unreserved),
            code_size_unzipped: Some(262_144_000),
            total_code_size: Some(80_530_636_800),
            total_code_used: 0,
        }
    }

    fn function(
        handler: &str,
        reserved: Option<i64>,
        deployed: Option<Deployed>,
    ) -> FunctionDemand {
        FunctionDemand {
            handler: handler.into(),
            reserved_concurrency: reserved,
            code: None,
            deployed,
        }
    }

    fn dev_stack(deployed: Option<Deployed>) -> Vec<FunctionDemand> {
        ["notify", "ingest", "photo-check"]
            .into_iter()
            .map(|handler| function(handler, Some(5), deployed))
            .collect()
    }

    fn reserved(count: i64) -> Option<Deployed> {
        Some(Deployed {
            reserved_concurrency: Some(count),
            code_size: 1000,
        })
    }

    fn message(result: Result<(), AccountLimitsExceeded>) -> String {
        result.expect_err("a refusal").to_string()
    }

    #[test]
    fn a_new_account_with_a_limit_of_10_takes_no_reservation() {
        assert_eq!(
            message(check(&target(), &account(10, 10), &dev_stack(None))),
            "account 123456789012 in eu-west-1 allows 10 concurrent executions; the stack reserves 15 (notify 5, ingest 5, photo-check 5) and Lambda keeps 100 unreserved: lower reserved_concurrency in envs/dev.toml (or remove it) or request a concurrency quota of at least 115; nothing was changed"
        );
    }

    #[test]
    fn the_floor_of_100_is_exact() {
        assert_eq!(
            check(&target(), &account(115, 115), &dev_stack(None)),
            Ok(())
        );
        assert!(check(&target(), &account(114, 114), &dev_stack(None)).is_err());
    }

    #[test]
    fn other_functions_reservations_count_and_are_named() {
        // 1000 - 890 reserved elsewhere: 110 unreserved, 15 would leave 95.
        let error = message(check(&target(), &account(1000, 110), &dev_stack(None)));
        assert!(
            error.contains("the stack reserves 15 (notify 5, ingest 5, photo-check 5), other functions in the account reserve 890 and Lambda keeps 100 unreserved")
                && error.contains("at least 1005"),
            "{error}"
        );
    }

    #[test]
    fn the_stacks_own_reservations_go_back_to_the_pool() {
        // Deployed with 5 each: the 100 unreserved already exclude them. A
        // redeploy at the same reservations on a limit of 115 fits exactly.
        assert_eq!(
            check(&target(), &account(115, 100), &dev_stack(reserved(5))),
            Ok(())
        );
        // Growing one function to 6 does not.
        let mut stack = dev_stack(reserved(5));
        stack[0].reserved_concurrency = Some(6);
        let error = message(check(&target(), &account(115, 100), &stack));
        assert!(
            error.contains("reserves 16 (notify 6, ingest 5, photo-check 5)"),
            "{error}"
        );
    }

    #[test]
    fn a_falling_reservation_counts_until_its_update_runs() {
        // ingest drops from 50 to 5 while notify grows from 5 to 50: in
        // some update order both hold 50, so 100 + 50 + 50 + 5 must fit.
        let stack = vec![
            function("notify", Some(50), reserved(5)),
            function("ingest", Some(5), reserved(50)),
            function("photo-check", Some(5), reserved(5)),
        ];
        let unreserved = |limit: i64| limit - 60;
        assert!(check(&target(), &account(204, unreserved(204)), &stack).is_err());
        assert_eq!(
            check(&target(), &account(205, unreserved(205)), &stack),
            Ok(())
        );
    }

    #[test]
    fn a_deploy_that_adds_no_reservation_is_never_refused() {
        // Removing every reservation on a small account.
        let stack: Vec<FunctionDemand> = ["notify", "ingest"]
            .into_iter()
            .map(|handler| function(handler, None, reserved(5)))
            .collect();
        assert_eq!(check(&target(), &account(10, 0), &stack), Ok(()));
        // No reservations at all on a new account.
        let stack = vec![function("notify", None, None)];
        assert_eq!(check(&target(), &account(10, 10), &stack), Ok(()));
    }

    #[test]
    fn limits_not_reported_are_not_checked() {
        let unknown = LambdaAccount {
            concurrent_executions: None,
            unreserved_concurrent_executions: None,
            code_size_unzipped: None,
            total_code_size: None,
            total_code_used: 0,
        };
        assert_eq!(check(&target(), &unknown, &dev_stack(None)), Ok(()));
    }

    #[test]
    fn code_sizes_are_checked_per_zip_and_in_total() {
        let mut stack = dev_stack(None);
        stack[1].code = Some(CodeSize {
            zipped: 90_000_000,
            unzipped: 300_000_000,
        });
        stack[2].code = Some(CodeSize {
            zipped: 1_000,
            unzipped: 2_000,
        });
        let mut full = account(1000, 1000);
        full.total_code_used = 80_530_636_800 - 50_000_000;
        let error = message(check(&target(), &full, &stack));
        assert_eq!(
            error,
            "account 123456789012 in eu-west-1 cannot take this stack; nothing was changed:\n  - ingest's code is 300000000 bytes unzipped; Lambda in account 123456789012 in eu-west-1 takes at most 262144000: make the handler's binary smaller\n  - account 123456789012 in eu-west-1 stores 80480636800 bytes of Lambda code of at most 80530636800, and this deploy adds 90001000: delete unused functions, versions or layers, or request a larger code storage quota"
        );
    }

    #[test]
    fn replaced_code_adds_only_its_growth() {
        // The stored zip is replaced: 1000 bytes now, 1500 after, so 500 are added.
        let mut stack = vec![function("notify", None, reserved(0))];
        stack[0].code = Some(CodeSize {
            zipped: 1_500,
            unzipped: 3_000,
        });
        let mut nearly_full = account(1000, 1000);
        nearly_full.total_code_size = Some(10_000);
        nearly_full.total_code_used = 9_500;
        assert_eq!(check(&target(), &nearly_full, &stack), Ok(()));
        nearly_full.total_code_used = 9_501;
        let error = message(check(&target(), &nearly_full, &stack));
        assert!(error.contains("this deploy adds 500"), "{error}");
    }
}
