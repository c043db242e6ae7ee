// SPDX-License-Identifier: MIT OR GPL-2.0
/*
 * voltaic_fixture: power supplies with what the kernel's test_power driver lacks, for voltaic's
 * real-kernel test (scripts/kernel-test.sh). Built out of tree against the running distribution's
 * headers; never meant for a real machine.
 *
 * It registers, on the kernel's power_supply API (include/linux/power_supply.h):
 *   vfix_bat    a system battery reporting energy in µWh, power_now in µW, voltages, a cycle count, and
 *               writable charge_control_{start,end}_threshold and charge_behaviour, validated here the way
 *               vendor drivers do (0–100, start below end; only the behaviours this "firmware" offers),
 *               so a bad write fails inside the kernel with -EINVAL;
 *   vfix_mouse  a peripheral (scope Device) that reports only a coarse capacity_level, like hid-logitech-hidpp.
 *
 * Every value is a module parameter under /sys/module/voltaic_fixture/parameters/. Writing one updates the
 * property and announces it with power_supply_changed(), which sends a "change" uevent, as a real driver does
 * when its firmware notifies a change. Writing 0 to bat_registered unregisters vfix_bat (the device
 * disappears: a "remove" uevent, its sysfs directory goes, kept descriptors read ENODEV); 1 registers it again.
 */
#include <linux/module.h>
#include <linux/moduleparam.h>
#include <linux/power_supply.h>
#include <linux/string.h>

static struct power_supply *bat;
static struct power_supply *mouse;

/* Values in the kernel's power_supply units (µWh, µW, µV, percent). */
static int bat_capacity = 64;
static int bat_status = POWER_SUPPLY_STATUS_DISCHARGING;
static int bat_energy_now = 28800000;
static int bat_energy_full = 45000000;
static int bat_energy_full_design = 50000000;
static int bat_power_now = 9000000;
static int bat_voltage_now = 11800000;
static int bat_voltage_min_design = 11100000;
static int bat_cycle_count = 123;
static int bat_start_threshold;
static int bat_end_threshold = 100;
static int bat_behaviour = POWER_SUPPLY_CHARGE_BEHAVIOUR_AUTO;
static char *bat_model = "Fixture Pack";
static int bat_registered = 1;
static int mouse_level = POWER_SUPPLY_CAPACITY_LEVEL_NORMAL;

/* Indexed by enum power_supply_status and enum power_supply_capacity_level; the sysfs spellings. */
static const char *const status_names[] = { "Unknown", "Charging", "Discharging", "Not charging", "Full" };
static const char *const level_names[] = { "Unknown", "Critical", "Low", "Normal", "High", "Full" };

static int bat_get(struct power_supply *psy, enum power_supply_property psp,
		   union power_supply_propval *val)
{
	switch (psp) {
	case POWER_SUPPLY_PROP_STATUS: val->intval = bat_status; break;
	case POWER_SUPPLY_PROP_PRESENT: val->intval = 1; break;
	case POWER_SUPPLY_PROP_TECHNOLOGY: val->intval = POWER_SUPPLY_TECHNOLOGY_LION; break;
	case POWER_SUPPLY_PROP_SCOPE: val->intval = POWER_SUPPLY_SCOPE_SYSTEM; break;
	case POWER_SUPPLY_PROP_CAPACITY: val->intval = bat_capacity; break;
	case POWER_SUPPLY_PROP_ENERGY_NOW: val->intval = bat_energy_now; break;
	case POWER_SUPPLY_PROP_ENERGY_FULL: val->intval = bat_energy_full; break;
	case POWER_SUPPLY_PROP_ENERGY_FULL_DESIGN: val->intval = bat_energy_full_design; break;
	case POWER_SUPPLY_PROP_POWER_NOW: val->intval = bat_power_now; break;
	case POWER_SUPPLY_PROP_VOLTAGE_NOW: val->intval = bat_voltage_now; break;
	case POWER_SUPPLY_PROP_VOLTAGE_MIN_DESIGN: val->intval = bat_voltage_min_design; break;
	case POWER_SUPPLY_PROP_CYCLE_COUNT: val->intval = bat_cycle_count; break;
	case POWER_SUPPLY_PROP_CHARGE_CONTROL_START_THRESHOLD: val->intval = bat_start_threshold; break;
	case POWER_SUPPLY_PROP_CHARGE_CONTROL_END_THRESHOLD: val->intval = bat_end_threshold; break;
	case POWER_SUPPLY_PROP_CHARGE_BEHAVIOUR: val->intval = bat_behaviour; break;
	case POWER_SUPPLY_PROP_MODEL_NAME: val->strval = bat_model; break;
	case POWER_SUPPLY_PROP_MANUFACTURER: val->strval = "voltaic"; break;
	case POWER_SUPPLY_PROP_SERIAL_NUMBER: val->strval = "VFIX-0001"; break;
	default: return -EINVAL;
	}
	return 0;
}

/*
 * The checks vendor drivers make before they pass a threshold to firmware (thinkpad_acpi
 * tpacpi_battery_store, huawei-wmi charge_control_thresholds_store): percentages, start below end.
 */
static int bat_set(struct power_supply *psy, enum power_supply_property psp,
		   const union power_supply_propval *val)
{
	int v = val->intval;

	switch (psp) {
	case POWER_SUPPLY_PROP_CHARGE_CONTROL_START_THRESHOLD:
		if (v < 0 || v > 100 || v >= bat_end_threshold)
			return -EINVAL;
		bat_start_threshold = v;
		break;
	case POWER_SUPPLY_PROP_CHARGE_CONTROL_END_THRESHOLD:
		if (v < 1 || v > 100 || v <= bat_start_threshold)
			return -EINVAL;
		bat_end_threshold = v;
		break;
	case POWER_SUPPLY_PROP_CHARGE_BEHAVIOUR:
		/* This "firmware" can inhibit charging but not force a discharge. */
		if (v != POWER_SUPPLY_CHARGE_BEHAVIOUR_AUTO &&
		    v != POWER_SUPPLY_CHARGE_BEHAVIOUR_INHIBIT_CHARGE)
			return -EINVAL;
		bat_behaviour = v;
		break;
	default:
		return -EINVAL;
	}
	power_supply_changed(psy);
	return 0;
}

static int bat_writeable(struct power_supply *psy, enum power_supply_property psp)
{
	return psp == POWER_SUPPLY_PROP_CHARGE_CONTROL_START_THRESHOLD ||
	       psp == POWER_SUPPLY_PROP_CHARGE_CONTROL_END_THRESHOLD ||
	       psp == POWER_SUPPLY_PROP_CHARGE_BEHAVIOUR;
}

static const enum power_supply_property bat_props[] = {
	POWER_SUPPLY_PROP_STATUS, POWER_SUPPLY_PROP_PRESENT, POWER_SUPPLY_PROP_TECHNOLOGY,
	POWER_SUPPLY_PROP_SCOPE, POWER_SUPPLY_PROP_CAPACITY, POWER_SUPPLY_PROP_ENERGY_NOW,
	POWER_SUPPLY_PROP_ENERGY_FULL, POWER_SUPPLY_PROP_ENERGY_FULL_DESIGN, POWER_SUPPLY_PROP_POWER_NOW,
	POWER_SUPPLY_PROP_VOLTAGE_NOW, POWER_SUPPLY_PROP_VOLTAGE_MIN_DESIGN, POWER_SUPPLY_PROP_CYCLE_COUNT,
	POWER_SUPPLY_PROP_CHARGE_CONTROL_START_THRESHOLD, POWER_SUPPLY_PROP_CHARGE_CONTROL_END_THRESHOLD,
	POWER_SUPPLY_PROP_CHARGE_BEHAVIOUR, POWER_SUPPLY_PROP_MODEL_NAME, POWER_SUPPLY_PROP_MANUFACTURER,
	POWER_SUPPLY_PROP_SERIAL_NUMBER,
};

static const struct power_supply_desc bat_desc = {
	.name = "vfix_bat",
	.type = POWER_SUPPLY_TYPE_BATTERY,
	.properties = bat_props,
	.num_properties = ARRAY_SIZE(bat_props),
	.get_property = bat_get,
	.set_property = bat_set,
	.property_is_writeable = bat_writeable,
};

static int mouse_get(struct power_supply *psy, enum power_supply_property psp,
		     union power_supply_propval *val)
{
	switch (psp) {
	case POWER_SUPPLY_PROP_STATUS: val->intval = POWER_SUPPLY_STATUS_DISCHARGING; break;
	case POWER_SUPPLY_PROP_ONLINE: val->intval = 1; break;
	case POWER_SUPPLY_PROP_SCOPE: val->intval = POWER_SUPPLY_SCOPE_DEVICE; break;
	case POWER_SUPPLY_PROP_CAPACITY_LEVEL: val->intval = mouse_level; break;
	case POWER_SUPPLY_PROP_MODEL_NAME: val->strval = "Fixture Mouse"; break;
	case POWER_SUPPLY_PROP_MANUFACTURER: val->strval = "voltaic"; break;
	default: return -EINVAL;
	}
	return 0;
}

static const enum power_supply_property mouse_props[] = {
	POWER_SUPPLY_PROP_STATUS, POWER_SUPPLY_PROP_ONLINE, POWER_SUPPLY_PROP_SCOPE,
	POWER_SUPPLY_PROP_CAPACITY_LEVEL, POWER_SUPPLY_PROP_MODEL_NAME, POWER_SUPPLY_PROP_MANUFACTURER,
};

static const struct power_supply_desc mouse_desc = {
	.name = "vfix_mouse",
	.type = POWER_SUPPLY_TYPE_BATTERY,
	.properties = mouse_props,
	.num_properties = ARRAY_SIZE(mouse_props),
	.get_property = mouse_get,
};

static int register_bat(void)
{
	struct power_supply_config cfg = {};

	bat = power_supply_register(NULL, &bat_desc, &cfg);
	if (IS_ERR(bat)) {
		int err = PTR_ERR(bat);

		bat = NULL;
		return err;
	}
	return 0;
}

/* Module parameter writes run under the module's parameter lock, so they never race each other. */
static void announce(struct power_supply *psy)
{
	if (psy)
		power_supply_changed(psy);
}

static int set_bat_int(const char *buf, const struct kernel_param *kp)
{
	int err = param_set_int(buf, kp);

	if (!err)
		announce(bat);
	return err;
}

static int set_bat_model(const char *buf, const struct kernel_param *kp)
{
	int err = param_set_charp(buf, kp);

	if (!err)
		announce(bat);
	return err;
}

static int set_named(const char *buf, int *out, const char *const *names, size_t n)
{
	int i = __sysfs_match_string(names, n, buf);

	if (i < 0)
		return -EINVAL;
	*out = i;
	return 0;
}

static int set_bat_status(const char *buf, const struct kernel_param *kp)
{
	int err = set_named(buf, &bat_status, status_names, ARRAY_SIZE(status_names));

	if (!err)
		announce(bat);
	return err;
}

static int get_bat_status(char *buf, const struct kernel_param *kp)
{
	return sysfs_emit(buf, "%s\n", status_names[bat_status]);
}

static int set_mouse_level(const char *buf, const struct kernel_param *kp)
{
	int err = set_named(buf, &mouse_level, level_names, ARRAY_SIZE(level_names));

	if (!err)
		announce(mouse);
	return err;
}

static int get_mouse_level(char *buf, const struct kernel_param *kp)
{
	return sysfs_emit(buf, "%s\n", level_names[mouse_level]);
}

static int set_bat_registered(const char *buf, const struct kernel_param *kp)
{
	bool want;
	int err = kstrtobool(buf, &want);

	if (err)
		return err;
	if (want && !bat) {
		err = register_bat();
	} else if (!want && bat) {
		power_supply_unregister(bat);
		bat = NULL;
	}
	bat_registered = bat != NULL;
	return err;
}

static const struct kernel_param_ops bat_int_ops = { .set = set_bat_int, .get = param_get_int };
static const struct kernel_param_ops bat_model_ops = { .set = set_bat_model, .get = param_get_charp,
						       .free = param_free_charp };
static const struct kernel_param_ops bat_status_ops = { .set = set_bat_status, .get = get_bat_status };
static const struct kernel_param_ops mouse_level_ops = { .set = set_mouse_level, .get = get_mouse_level };
static const struct kernel_param_ops bat_registered_ops = { .set = set_bat_registered, .get = param_get_int };

module_param_cb(bat_capacity, &bat_int_ops, &bat_capacity, 0644);
module_param_cb(bat_energy_now, &bat_int_ops, &bat_energy_now, 0644);
module_param_cb(bat_energy_full, &bat_int_ops, &bat_energy_full, 0644);
module_param_cb(bat_energy_full_design, &bat_int_ops, &bat_energy_full_design, 0644);
module_param_cb(bat_power_now, &bat_int_ops, &bat_power_now, 0644);
module_param_cb(bat_voltage_now, &bat_int_ops, &bat_voltage_now, 0644);
module_param_cb(bat_cycle_count, &bat_int_ops, &bat_cycle_count, 0644);
module_param_cb(bat_model, &bat_model_ops, &bat_model, 0644);
module_param_cb(bat_status, &bat_status_ops, NULL, 0644);
module_param_cb(bat_registered, &bat_registered_ops, &bat_registered, 0644);
module_param_cb(mouse_level, &mouse_level_ops, NULL, 0644);

static int __init fixture_init(void)
{
	struct power_supply_config cfg = {};
	int err = register_bat();

	if (err)
		return err;
	mouse = power_supply_register(NULL, &mouse_desc, &cfg);
	if (IS_ERR(mouse)) {
		power_supply_unregister(bat);
		return PTR_ERR(mouse);
	}
	return 0;
}

static void __exit fixture_exit(void)
{
	power_supply_unregister(mouse);
	if (bat)
		power_supply_unregister(bat);
}

module_init(fixture_init);
module_exit(fixture_exit);
MODULE_DESCRIPTION("voltaic test fixture: power supplies driven by module parameters");
MODULE_LICENSE("Dual MIT/GPL");
