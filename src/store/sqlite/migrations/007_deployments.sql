-- 007_deployments: serving deployments (src/serving), stored so they come back after a
-- restart. `spec` is the JSON DeploymentSpec with every default filled in; replicas are
-- tasks (service tasks labelled lakeray.deployment) and are not stored here.

CREATE TABLE deployments (
  tenant     TEXT NOT NULL,
  name       TEXT NOT NULL,
  spec       TEXT NOT NULL,
  created_at INTEGER NOT NULL,
  updated_at INTEGER NOT NULL,
  PRIMARY KEY (tenant, name)
);
