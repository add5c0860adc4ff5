-- The calendar day (in DUETRACK_TIMEZONE) each reminder was actually sent
-- on, which may differ from the day whose run sent it. At most one
-- reminder per customer per day of sending, however many runs there are.
ALTER TABLE reminder_log ADD COLUMN sent_on TEXT;
UPDATE reminder_log SET sent_on = day;
CREATE UNIQUE INDEX reminder_log_one_a_day ON reminder_log (customer_id, sent_on);
