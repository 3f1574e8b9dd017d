// The override for destructive or broadening changes (docs/ci.md, "The
// override"): an APPROVED review of exactly the pull request's head commit,
// by someone other than its author, with write access or more. Used by
// pr.yml (the gate, re-evaluated on every review) and deploy.yml (again on
// main before a prod plan runs, because pr.yml runs the pull request's own
// copy of itself). A new push is a new head commit: earlier approvals no
// longer count.
//
// Returns the logins that approved `headSha`, in review order.
module.exports = async function approversOfHead({ github, owner, repo, pullNumber, headSha, author }) {
  const reviews = await github.paginate(github.rest.pulls.listReviews, {
    owner, repo, pull_number: pullNumber, per_page: 100,
  });
  // A reviewer's latest decisive review is their verdict (GitHub's own
  // rule: a later COMMENTED review does not withdraw an approval; a later
  // CHANGES_REQUESTED or a dismissal does).
  const latest = new Map();
  for (const review of reviews) {
    if (!review.user || review.state === 'COMMENTED' || review.state === 'PENDING') continue;
    latest.set(review.user.login, review);
  }
  const approvers = [];
  for (const [login, review] of latest) {
    if (review.state !== 'APPROVED') continue;
    if (review.commit_id !== headSha) continue;
    if (login.toLowerCase() === author.toLowerCase()) continue;
    const { data } = await github.rest.repos.getCollaboratorPermissionLevel({ owner, repo, username: login });
    // `permission` is the legacy level every role maps to (maintain ->
    // write, triage -> read), so custom roles are judged by their base.
    if (['admin', 'write'].includes(data.permission)) {
      approvers.push(login);
    }
  }
  return approvers;
};
