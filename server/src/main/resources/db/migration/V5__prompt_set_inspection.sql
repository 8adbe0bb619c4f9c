-- Per prompt set inspection mode: which part of each image the model sees ('center-crop', 'resize' or 'tiles').
-- Rows stored before this column were encoded with the official centre crop.
ALTER TABLE prompt_sets ADD COLUMN inspection VARCHAR(16) DEFAULT 'center-crop' NOT NULL;
