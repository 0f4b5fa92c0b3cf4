"""庁内データ連携 for systems outside lgcloud: a pull API over the town's journal. A town that
keeps some business on another vendor's system gives that system a token limited to named
datasets and items; the system reads the changes in commit order and resumes after the last
one it stored. Every call is audited."""
