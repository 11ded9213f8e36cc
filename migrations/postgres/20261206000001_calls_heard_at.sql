-- When the provider last told us about a placed call: a status callback or a
-- webhook, or the reconciler asking it. A call in flight that has been quiet for a
-- minute is looked up at the provider (its callbacks may have gone to an instance
-- that was down), so it is settled from what the provider says. NULL: nothing
-- heard since the dial (`dialed_at` counts instead).
alter table calls add column heard_at timestamptz;
