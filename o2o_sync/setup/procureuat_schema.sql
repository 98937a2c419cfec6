-- ProcureUAT portal schema, as o2o_sync's tests, demo portal and benchmark build it.
--
-- Written from /work/shared/procureuat/CONTRACT.md ("Tables"). We do not own the
-- real schema: this copy reproduces its legacy habits on purpose so that tests meet
-- them too: NOT NULL text columns with no default (an INSERT that omits one fails
-- under strict SQL mode), numbers stored as VARCHAR, FLOAT money, nullable
-- datetimes. Where the contract gives a column's type but not its nullability,
-- the column is nullable with no default.
--
-- Only PRIMARY KEYs and the one UNIQUE key the contract names are declared: the
-- portal's indexes are not part of the contract.
--
-- Format rule (o2o_sync.setup.portal_schema.schema_statements relies on it): comment lines start
-- with "--", every statement ends with ";" at the end of a line, and no ";" ends a
-- line anywhere else. Never add a DROP here: this file must be harmless if it is
-- ever run against a real database.

CREATE TABLE `entitys` (
	`id` INT(11) NOT NULL AUTO_INCREMENT,
	`name` VARCHAR(255) NULL,
	`address` TEXT NULL,
	`gstn` VARCHAR(100) NULL,
	`created_at` DATETIME NULL,
	PRIMARY KEY (`id`)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_general_ci;

CREATE TABLE `subentitys` (
	`id` INT(11) NOT NULL AUTO_INCREMENT,
	`entity_id` INT(11) NULL,
	`name` VARCHAR(255) NULL,
	PRIMARY KEY (`id`)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_general_ci;

CREATE TABLE `vendors` (
	`id` INT(11) NOT NULL AUTO_INCREMENT,
	`name` VARCHAR(255) NOT NULL,
	`code` VARCHAR(150) NOT NULL,
	`gstn` VARCHAR(100) NULL,
	`email` VARCHAR(255) NOT NULL,
	`website` VARCHAR(255) NOT NULL,
	`address` VARCHAR(500) NOT NULL,
	`pincode` VARCHAR(20) NOT NULL,
	`contact_number` BIGINT(20) NOT NULL,
	`country_id` INT(11) NOT NULL,
	`state_id` INT(11) NOT NULL,
	`city_id` INT(11) NOT NULL,
	`user_id` INT(11) NOT NULL,
	`status` VARCHAR(50) NOT NULL,
	`created_at` DATETIME NULL,
	`updated_at` DATETIME NULL,
	`created_by` INT(11) NOT NULL,
	`updated_by` INT(11) NOT NULL,
	-- credential columns: o2o_sync never reads them (select named columns, never *)
	`password` VARCHAR(255) NOT NULL,
	`encrypted_password` VARCHAR(255) NULL,
	`confirm_password` VARCHAR(255) NULL,
	`last_sign_in_ip` VARCHAR(45) NULL,
	PRIMARY KEY (`id`)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_general_ci;

CREATE TABLE `purchase_requisitions` (
	`id` INT(11) NOT NULL AUTO_INCREMENT,
	`entity` VARCHAR(255) NOT NULL,
	`subentity_id` VARCHAR(255) NULL,
	`order_name` VARCHAR(255) NOT NULL,
	`order_code` VARCHAR(255) NOT NULL,
	`category` INT(11) NOT NULL,
	`delivery_date` DATETIME NULL,
	`validity_date` DATETIME NULL,
	`address` TEXT NOT NULL,
	`remark` TEXT NOT NULL,
	`acknowledgement` INT(11) DEFAULT 0,
	`order_status` INT(11) DEFAULT 1,
	`finance_status` INT(11) DEFAULT 0,
	`is_delete` INT(11) DEFAULT 0,
	`status` VARCHAR(50) NOT NULL,
	`gst_percentage` VARCHAR(2) DEFAULT '5',
	`invoice_series` INT(11) NOT NULL,
	`invoice_number` VARCHAR(255) NULL,
	`invoice_generated` INT(11) DEFAULT 0,
	`invoice_generated_at` DATETIME NULL,
	`is_invoice_cancel` TINYINT(4) DEFAULT 0,
	`invoice_cancel_date` DATETIME NULL,
	`credit_note_number` VARCHAR(100) NOT NULL,
	`freight_rate` VARCHAR(150) NOT NULL,
	`freight_cost` VARCHAR(150) NOT NULL,
	`requisition_at` DATETIME NOT NULL,
	`requisition_by` INT(11) NOT NULL,
	`created_by` INT(11) NOT NULL,
	`updated_by` INT(11) NOT NULL,
	`created_at` DATETIME NULL,
	`updated_at` DATETIME NULL,
	`vendor_created` INT(11) DEFAULT 0,
	`is_new_invoice` TINYINT(4) DEFAULT 0,
	`currency_id` INT(11) NULL,
	`clone_id` INT(11) NULL,
	`reason_id` INT(11) NULL,
	`approved_by` INT(11) NULL,
	`rejected_by` INT(11) NULL,
	`gru_ack` INT(11) NULL,
	`amend_no` VARCHAR(50) NOT NULL,
	`reason` VARCHAR(255) NOT NULL,
	`transportation_mode` VARCHAR(100) NOT NULL,
	`vehicle_no` VARCHAR(100) NOT NULL,
	`challan_number` VARCHAR(100) NOT NULL,
	`gru_ack_remark` VARCHAR(255) NULL,
	`dispatch_status` VARCHAR(50) NULL,
	`awb_number` VARCHAR(100) NULL,
	`weight` VARCHAR(50) NULL,
	`weight_rate` VARCHAR(50) NULL,
	`adv_shipping_detatils` VARCHAR(255) NULL,
	`import_files` VARCHAR(255) NULL,
	`user_file_name` VARCHAR(255) NULL,
	`invoice_view` VARCHAR(50) NULL,
	`amendment_date` DATETIME NULL,
	`challan_date` DATETIME NULL,
	`approved_at` DATETIME NULL,
	`rejected_at` DATETIME NULL,
	`total_wt` FLOAT NULL,
	`is_visible_header` TINYINT(1) NOT NULL,
	PRIMARY KEY (`id`)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_general_ci;

CREATE TABLE `purchase_order_items` (
	`id` INT(11) NOT NULL AUTO_INCREMENT,
	`purchase_order_id` INT(11) NOT NULL,
	`vendor_id` INT(11) NULL,
	`product_id` INT(11) NULL,
	`category_id` INT(11) NULL,
	`subcategory_id` INT(11) NULL,
	`brand_id` INT(11) NOT NULL,
	`product_type` INT(11) NULL,
	`gst_id` INT(11) NULL,
	`image` TEXT NOT NULL,
	`quantity` BIGINT(20) NULL,
	`unit_rate` VARCHAR(100) NULL,
	`uom` VARCHAR(50) NULL,
	`unit` VARCHAR(50) NULL,
	`unit_type` VARCHAR(50) NULL,
	`cost` FLOAT NULL,
	`gst_amt` FLOAT NULL,
	`total_amt` FLOAT NULL,
	`status` VARCHAR(50) NOT NULL,
	`vendor_approve` INT(11) DEFAULT 1,
	`created_at` DATETIME NULL,
	`updated_at` DATETIME NULL,
	`created_by` INT(11) NOT NULL,
	`updated_by` INT(11) NOT NULL,
	PRIMARY KEY (`id`)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_general_ci;

CREATE TABLE `invoice_counter` (
	`id` INT(11) NOT NULL AUTO_INCREMENT,
	`prefix` VARCHAR(50) NOT NULL,
	`financial_year` VARCHAR(10) NOT NULL,
	`last_number` INT(11) NOT NULL DEFAULT 0,
	`created_at` DATETIME NULL,
	`updated_at` DATETIME NULL,
	PRIMARY KEY (`id`),
	UNIQUE KEY `uniq_prefix_financial_year` (`prefix`, `financial_year`)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_general_ci;
