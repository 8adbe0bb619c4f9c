-- Per prompt set target false-positive rate of the suggested threshold. NULL (rows stored before this column) means
-- the server default (inctrl.registry.calibration.target-fpr), applied when the row is read.
ALTER TABLE prompt_sets ADD COLUMN target_fpr REAL;
