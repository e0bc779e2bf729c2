"""The seed's own examples of the Session Context Protocol, for the ctx tests.

``SEED_CONTEXT`` is the seed's example session context, ``SEED_CONTEXT_UPDATE``
its "Writing Context" report and ``SEED_SKILL_RESULT`` its Skill -> Bot Manager
handoff, each copied verbatim (trailing blanks aside). ``seed_document_blocks()``
reads the seed document itself when the shared data is present beside the
repository (tests that need it skip cleanly when it is absent).
"""

from __future__ import annotations

import re
from pathlib import Path

SEED_DIR = Path(__file__).resolve().parents[2] / "shared" / "seeds"
CAMPAIGN = "YIELD-XYZ-001"
CONTEXT_REL = f".gtm/{CAMPAIGN}/session_context.yaml"   # where the seed keeps the context

SEED_CONTEXT = """\
session_context:
  # === Session Identity ===
  id: "session-2026-01-29-001"
  started_at: "2026-01-29T10:00:00Z"
  last_updated: "2026-01-29T14:30:00Z"

  # === Campaign Reference ===
  campaign:
    gtm_id: "YIELD-XYZ-001"
    title: "Yield.xyz Integration Launch"
    tier: 2
    campaign_owner: "@phil"
    status: "in_progress"  # kickoff | in_progress | review | published | closed

  # === Active Task ===
  active_task:
    type: "content_generation"
    description: "Generate Tier 2 content for Yield.xyz integration"
    assigned_to: "content-worker"
    started_at: "2026-01-29T14:00:00Z"

    scope:
      objectives:
        - "Create announcement posts for X, Discord, Farcaster"
        - "Draft blog post outline"
      boundaries:
        - "Only channels: X, Discord, Farcaster, Blog"
        - "No partner mentions without approval"
        - "No APY claims without verified source"
      out_of_scope:
        - "Partner outreach (separate task)"
        - "Paid promotion (not this campaign)"

    budget:
      max_skill_calls: 10
      max_tokens: 100000
      deadline: "2026-01-30T12:00:00Z"

  # === Accumulated Knowledge ===
  knowledge:
    # Product facts (from Product Oracle)
    product:
      chains_supported: 28
      chains_new_30d: ["Blast", "Base"]
      yield_protocols: ["Yearn", "Tokemak", "Yield.xyz"]
      features:
        swap: true
        cross_chain: true
        yield: true
        lending: false

    # Protocol research (from research phase)
    protocol:
      name: "Yield.xyz"
      type: "yield_aggregator"
      chains: ["ethereum", "arbitrum", "optimism"]
      tvl: "$50M"
      key_feature: "Auto-compounding vaults"
      integration_type: "Native yield aggregation"

    # Brand decisions (approved by Campaign Owner)
    brand_decisions:
      - decision: "Use 'yield optimization' not 'yield farming'"
        approved_by: "@phil"
        timestamp: "2026-01-29T11:00:00Z"
      - decision: "Messaging angle: cross-chain + self-custody"
        approved_by: "@phil"
        timestamp: "2026-01-29T11:00:00Z"

    # Audience insights (from Audience Analyzer)
    audience:
      primary_segment: "defi_degens"
      secondary_segment: "yield_seekers"
      platform_notes:
        x: "Benefit-focused, less technical"
        farcaster: "Technical details OK, builder audience"
        discord: "Community-focused, include call to action"

    # Past learnings (from Campaign Memory)
    past_learnings:
      - "Thread format outperforms single posts by 3x for integrations"
      - "Tuesday/Wednesday posts get 40% more engagement"
      - "Avoid superlatives—specific numbers perform better"

  # === Artifacts Produced ===
  artifacts:
    - type: "research_summary"
      path: ".gtm/YIELD-XYZ-001/research/protocol_analysis.json"
      produced_by: "research-agent"
      timestamp: "2026-01-29T10:30:00Z"

    - type: "draft_x_post"
      path: ".gtm/YIELD-XYZ-001/drafts/x_post.md"
      produced_by: "content-worker"
      timestamp: "2026-01-29T14:30:00Z"
      status: "pending_review"

    - type: "draft_discord"
      path: ".gtm/YIELD-XYZ-001/drafts/discord_post.md"
      produced_by: "content-worker"
      timestamp: "2026-01-29T14:35:00Z"
      status: "pending_review"

  # === Pending Decisions ===
  pending_decisions:
    - id: "decision-001"
      question: "Can we mention specific APY ranges?"
      context: "Yield.xyz vaults show 5-15% APY but rates fluctuate"
      options:
        - "Yes, with disclaimer about variability"
        - "No, just say 'competitive yields'"
        - "Ask Yield.xyz for approved language"
      escalated_to: "@phil"
      escalated_at: "2026-01-29T14:20:00Z"
      status: "awaiting_response"
      deadline: "2026-01-30T12:00:00Z"

  # === Completed Decisions ===
  decisions_made:
    - id: "decision-000"
      question: "Which messaging angle to use?"
      decision: "Both - technical on Farcaster, benefits on X"
      decided_by: "@phil"
      timestamp: "2026-01-29T11:00:00Z"

  # === Validation Status ===
  validations:
    brand_validator:
      last_run: "2026-01-29T14:40:00Z"
      status: "pass"
      issues: []

    link_checker:
      last_run: null
      status: "pending"
      issues: []

    audience_analyzer:
      last_run: "2026-01-29T14:25:00Z"
      status: "pass"
      notes: "Content matches target segments"

    release_coordinator:
      last_run: "2026-01-29T10:00:00Z"
      status: "blocked"
      blockers:
        - "Feature not yet deployed to prod"
        - "Partner sync pending"

  # === Compute Tracking ===
  compute:
    skills_invoked: 5
    budget_remaining: 5
    tokens_used: 45000
    budget_tokens_remaining: 55000

    invocation_log:
      - skill: "product-oracle"
        timestamp: "2026-01-29T10:05:00Z"
        tokens: 2000
        result: "success"
      - skill: "campaign-memory"
        timestamp: "2026-01-29T10:10:00Z"
        tokens: 3000
        result: "success"
      - skill: "audience-analyzer"
        timestamp: "2026-01-29T14:25:00Z"
        tokens: 5000
        result: "success"
      - skill: "content-worker"
        timestamp: "2026-01-29T14:30:00Z"
        tokens: 30000
        result: "success"
      - skill: "brand-validator"
        timestamp: "2026-01-29T14:40:00Z"
        tokens: 5000
        result: "success"

  # === History ===
  history:
    - action: "session_started"
      timestamp: "2026-01-29T10:00:00Z"
      actor: "bot-manager"
      details: "Campaign kickoff received from @phil"

    - action: "knowledge_acquired"
      timestamp: "2026-01-29T10:05:00Z"
      actor: "product-oracle"
      details: "Product facts loaded"

    - action: "decision_escalated"
      timestamp: "2026-01-29T14:20:00Z"
      actor: "content-worker"
      details: "APY claim question escalated to Campaign Owner"
"""

SEED_CONTEXT_UPDATE = """\
# Content Worker reports:
context_update:
  artifacts:
    - type: "draft_x_post"
      path: ".gtm/YIELD-XYZ-001/drafts/x_post.md"
      status: "pending_review"

  pending_decisions:
    - question: "Can we mention specific APY ranges?"
      context: "..."

  compute:
    tokens_used: 30000
"""

SEED_SKILL_RESULT = """\
skill_result:
  skill: "content-worker"
  status: "success"

  outputs:
    artifacts: [{ type: "draft_x_post", path: "..." }]

  context_updates:
    pending_decisions: [{ question: "APY claims?", ... }]
    compute: { tokens_used: 30000 }

  next_suggested: "brand-validator"
"""


def seed_document() -> str | None:
    """The seed document's text, or None when the shared data is not beside the repository."""
    found = sorted(SEED_DIR.glob("004_*.txt")) if SEED_DIR.is_dir() else []
    return found[0].read_text(encoding="utf-8") if found else None


def seed_document_blocks() -> list[str]:
    """Every ```yaml block of the seed document ([] when it is absent)."""
    text = seed_document()
    return re.findall(r"```yaml\n(.*?)```", text, re.S) if text else []


def write_seed_context(root: Path, text: str = SEED_CONTEXT) -> Path:
    """The seed's example context where the seed keeps it (.gtm/<campaign>/session_context.yaml)."""
    path = root / CONTEXT_REL
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


def write_context(root: Path, doc: dict, where: str = CONTEXT_REL) -> Path:
    """A session context mapping written as YAML at ``where`` (relative to ``root``)."""
    import yaml

    path = root / where
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(yaml.safe_dump({"session_context": doc}, sort_keys=False), encoding="utf-8")
    return path


def line_of(text: str, needle: str, start: int = 1) -> int:
    """The 1-based number of the first line at or after ``start`` that contains ``needle``."""
    for number, line in enumerate(text.splitlines(), 1):
        if number >= start and needle in line:
            return number
    raise AssertionError(f"{needle!r} not in the text")
